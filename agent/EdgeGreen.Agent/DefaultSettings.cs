using Microsoft.Extensions.Configuration.Memory;

namespace EdgeGreen.Agent;

/// <summary>
/// Built-in defaults placed beneath every other configuration source, so that a host started
/// from any directory (without its appsettings.json) still listens where the docs say, and any
/// file, environment variable or argument overrides them.
/// </summary>
public static class DefaultSettings
{
    public static IConfigurationBuilder AddDefaults(this IConfigurationBuilder configuration, IReadOnlyDictionary<string, string?> defaults)
    {
        configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = defaults });
        return configuration;
    }

    /// <summary>The stand-alone agent: metrics and health on port 5090, control plane on this machine.</summary>
    public static IReadOnlyDictionary<string, string?> Agent { get; } = new Dictionary<string, string?>
    {
        [$"{AgentOptions.SectionName}:ControlPlaneUrl"] = "http://localhost:5081",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    /// <summary>
    /// The agent's settings for a command run from the shell (<c>probe</c>, <c>calibrate</c>): the
    /// defaults, then environment variables, then <c>--EdgeGreen:Agent:…=value</c> arguments.
    /// </summary>
    public static AgentOptions AgentFromCommandLine(IEnumerable<string> overrides) =>
        new ConfigurationBuilder().AddDefaults(Agent).AddEnvironmentVariables().AddCommandLine([.. overrides]).Build()
            .GetSection(AgentOptions.SectionName).Get<AgentOptions>() ?? new AgentOptions();
}
