using System.Globalization;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Carbon;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Tests.Carbon;

public sealed class BundledCarbonTests
{
    private static readonly string TraceDirectory = Path.Combine(AppContext.BaseDirectory, "Carbon", "Traces", "electricitymaps");

    [Fact]
    public void Read_BundledExport_GivesEveryHourOfTheYearFromTheDirectColumn()
    {
        var trace = HourlyTrace.Read(Path.Combine(TraceDirectory, "ES_2022_hourly.csv"));

        Assert.Equal(("ES", 2022, 8_760), (trace.Zone, trace.Year, trace.IntensityGramsPerKwh.Count));
        Assert.Equal(133.64, trace.IntensityGramsPerKwh[0]);
        Assert.Equal(74.33, trace.IntensityGramsPerKwh[^1]);
    }

    [Theory]
    [InlineData("Datetime (UTC),Zone Id\n2022-01-01 00:00:00,ES\n", "no column")]
    [InlineData("Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n2022-01-01 00:00:00,ES,1\n2022-01-01 02:00:00,ES,1\n", ":3:")]
    [InlineData("Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n2022-01-01 00:00:00,ES,-4\n", ":2:")]
    [InlineData("Datetime (UTC),Zone Id,Carbon Intensity gCO₂eq/kWh (direct)\n2022-01-01 00:00:00,ES\n", ":2:")]
    public void Read_MalformedExport_FailsNamingFileAndLine(string contents, string expected)
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("edgegreen-trace-").FullName, "bad.csv");
        File.WriteAllText(path, contents);

        var error = Assert.Throws<InvalidDataException>(() => HourlyTrace.Read(path));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task History_ReplaysTheSameHourOfTheTraceYear_AndNeverRunsPastNow()
    {
        var source = new BundledTraceSource(Options.Create(new CarbonOptions { TraceDirectory = TraceDirectory, ReplayYear = 2022 }));
        var now = new DateTimeOffset(2026, 3, 1, 5, 30, 0, TimeSpan.Zero);

        var points = await source.GetHistoryAsync("es", now.AddHours(-3), now.AddHours(5), now, CancellationToken.None);

        Assert.Equal([now.AddHours(-3.5), now.AddHours(-2.5), now.AddHours(-1.5), now.AddMinutes(-30)], points.Select(p => p.Time));
        Assert.Equal(CsvValue("ES_2022_hourly.csv", "2022-03-01 05:00:00"), points[^1].IntensityGramsPerKwh);
        Assert.Equal(CsvValue("ES_2022_hourly.csv", "2022-03-01 02:00:00"), points[0].IntensityGramsPerKwh);
    }

    [Fact]
    public async Task Zones_AreTheBundledOnes_AndAnUnknownZoneIsRefused()
    {
        var source = new BundledTraceSource(Options.Create(new CarbonOptions { TraceDirectory = TraceDirectory }));

        Assert.Equal(["BR", "ES", "NO", "US-CAL-CISO"], await source.GetZonesAsync(CancellationToken.None));
        await Assert.ThrowsAsync<UnknownZoneException>(() =>
            source.GetHistoryAsync("XX", DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, CancellationToken.None));
    }

    [Fact]
    public void Construct_ReplayYearWithoutTraces_FailsNamingTheKey()
    {
        var error = Assert.Throws<InvalidOperationException>(() =>
            new BundledTraceSource(Options.Create(new CarbonOptions { TraceDirectory = TraceDirectory, ReplayYear = 2019 })));

        Assert.Contains("EdgeGreen:Carbon:ReplayYear", error.Message, StringComparison.Ordinal);
    }

    private static double CsvValue(string file, string time) =>
        double.Parse(File.ReadLines(Path.Combine(TraceDirectory, file)).Single(l => l.StartsWith(time, StringComparison.Ordinal)).Split(',')[4], CultureInfo.InvariantCulture);
}
