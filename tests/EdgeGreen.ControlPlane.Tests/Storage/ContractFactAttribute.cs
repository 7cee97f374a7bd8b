using Xunit.Abstractions;
using Xunit.Sdk;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>
/// A fact of the storage contract: it runs in every implementation's class, except that in a
/// class marked <see cref="RequiresProgramAttribute"/> whose program is missing it is skipped with
/// the reason, or, under <c>CI=true</c>, runs and fails, as <see cref="RequiresProgramFactAttribute"/>
/// does for a single test; in a class marked <see cref="RequiresTimescaleDbAttribute"/> it is
/// skipped where TimescaleDB is missing (see <see cref="TimescaleDb"/>).
/// </summary>
[XunitTestCaseDiscoverer("EdgeGreen.ControlPlane.Tests.Storage.ContractFactDiscoverer", "EdgeGreen.ControlPlane.Tests")]
[AttributeUsage(AttributeTargets.Method)]
public sealed class ContractFactAttribute : FactAttribute;

/// <summary>The program outside .NET (a database server) that an implementation's contract class needs.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class RequiresProgramAttribute(string program) : Attribute
{
    public string Program { get; } = program;
}

public sealed class ContractFactDiscoverer(IMessageSink diagnosticMessageSink) : FactDiscoverer(diagnosticMessageSink)
{
    public override IEnumerable<IXunitTestCase> Discover(ITestFrameworkDiscoveryOptions discoveryOptions, ITestMethod testMethod, IAttributeInfo factAttribute)
    {
        var testClass = testMethod.TestClass.Class;
        var program = testClass.GetCustomAttributes(typeof(RequiresProgramAttribute)).FirstOrDefault()?.GetConstructorArguments().FirstOrDefault() as string;
        var reason = program is null ? null : ExternalProgram.SkipReason(program);
        if (reason is null && testClass.GetCustomAttributes(typeof(RequiresTimescaleDbAttribute)).Any())
        {
            reason = TimescaleDb.SkipReason;
        }

        return reason is not null
            ? [new XunitSkippedDataRowTestCase(DiagnosticMessageSink, discoveryOptions.MethodDisplayOrDefault(), discoveryOptions.MethodDisplayOptionsOrDefault(), testMethod, reason)]
            : base.Discover(discoveryOptions, testMethod, factAttribute);
    }
}
