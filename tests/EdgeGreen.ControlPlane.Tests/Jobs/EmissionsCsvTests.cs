using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

public sealed class EmissionsCsvTests
{
    private static readonly DateTimeOffset Finished = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("=HYPERLINK(\"http://example.com\")", "\"'=HYPERLINK(\"\"http://example.com\"\")\"")]
    [InlineData("+1+1", "'+1+1")]
    [InlineData("-2+3", "'-2+3")]
    [InlineData("@SUM(A1:A2)", "'@SUM(A1:A2)")]
    [InlineData("\tcmd", "'\tcmd")]
    [InlineData("\rcmd", "\"'\rcmd\"")]
    [InlineData("nightly-train", "nightly-train")]
    public void Write_NameAFormulaWouldStartWith_IsPrefixedWithAQuote(string name, string cell)
    {
        var csv = EmissionsCsv.Write([Job(name, zone: "ES")]);

        var row = csv.Split('\n')[1];
        Assert.StartsWith($"2026-03-01T12:00:00,{cell},job-1,", row, StringComparison.Ordinal);
    }

    [Fact]
    public void Write_ZoneAFormulaWouldStartWith_IsPrefixedAndNumbersAreLeftAsNumbers()
    {
        var csv = EmissionsCsv.Write([Job("train", zone: "=1+1") with { CarbonGrams = 2.5 }]);

        var cells = csv.Split('\n')[1].Split(',');
        Assert.Equal("'=1+1", cells[Array.IndexOf(EmissionsCsv.Columns, "region")]);
        Assert.Equal("0.0025", cells[Array.IndexOf(EmissionsCsv.Columns, "emissions")]);
    }

    private static JobRecord Job(string name, string zone) =>
        new("job-1", name, "burn", new Dictionary<string, string>(), Finished.AddHours(-2), Finished.AddHours(-2), Finished.AddHours(1),
            TimeSpan.FromHours(1), EstimateSource.Submitted, 10, EstimateSource.Submitted, new JobResources(1, 0, 0),
            new JobPlacement(new Dictionary<string, string>(), []), false, null, null, JobStatus.Succeeded)
        {
            Zone = zone,
            StartedAt = Finished.AddHours(-1),
            FinishedAt = Finished,
            EnergyJoules = 36_000,
        };
}
