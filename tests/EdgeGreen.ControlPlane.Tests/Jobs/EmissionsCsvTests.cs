using System.Globalization;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

public sealed class EmissionsCsvTests
{
    private static readonly DateTimeOffset Finished = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// CodeCarbon 3.2.9's <c>EmissionsData</c> fields in declaration order
    /// (codecarbon/output_methods/emissions_data.py at tag v3.2.9, commit 58c0b19), which is the
    /// header its file output writes and the set it checks before appending to a file.
    /// </summary>
    private const string CodeCarbon3Header =
        "timestamp,project_name,run_id,experiment_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,"
        + "cpu_energy,gpu_energy,ram_energy,energy_consumed,water_consumed,country_name,country_iso_code,region,"
        + "cloud_provider,cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,"
        + "longitude,latitude,ram_total_size,tracking_mode,cpu_utilization_percent,gpu_utilization_percent,"
        + "ram_utilization_percent,ram_used_gb,on_cloud,pue,wue";

    /// <summary>CodeCarbon 2.0 to 2.6's fields (the same file at tag v2.6.0).</summary>
    internal const string CodeCarbon2Header =
        "timestamp,project_name,run_id,duration,emissions,emissions_rate,cpu_power,gpu_power,ram_power,"
        + "cpu_energy,gpu_energy,ram_energy,energy_consumed,country_name,country_iso_code,region,cloud_provider,"
        + "cloud_region,os,python_version,codecarbon_version,cpu_count,cpu_model,gpu_count,gpu_model,longitude,"
        + "latitude,ram_total_size,tracking_mode,on_cloud,pue";

    [Fact]
    public void Write_DefaultLayout_HeaderIsCodeCarbon3Fields()
    {
        var csv = EmissionsCsv.Write([Job("train", zone: "ES")]);

        Assert.Equal(CodeCarbon3Header, csv.Split('\n')[0]);
    }

    [Fact]
    public void Write_CodeCarbon2Layout_HeaderIsCodeCarbon2Fields()
    {
        var csv = EmissionsCsv.Write([Job("train", zone: "ES")], EmissionsCsvLayout.CodeCarbon2);

        Assert.Equal(CodeCarbon2Header, csv.Split('\n')[0]);
    }

    [Fact]
    public void Write_AFinishedJob_RowParsesAsCodeCarbonTypesAndDefaults()
    {
        var job = Job("train", zone: "ES") with
        {
            CarbonGrams = 7.2,
            Resources = new JobResources(4, 8L << 30, 1),
            EnergyByDomain = [new("cpu.package", 18_000, ReadingProvenance.Measured), new("gpu0", 7_200, ReadingProvenance.Measured)],
        };

        var lines = EmissionsCsv.Write([job]).TrimEnd('\n').Split('\n');

        Assert.Equal(2, lines.Length);
        var row = lines[0].Split(',').Zip(lines[1].Split(',')).ToDictionary(c => c.First, c => c.Second);
        Assert.Equal(EmissionsCsv.Columns.Length, row.Count);
        double Number(string column) => double.Parse(row[column], NumberStyles.Float, CultureInfo.InvariantCulture);
        Assert.Equal(DateTime.ParseExact(row["timestamp"], "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture), Finished.UtcDateTime);
        Assert.Equal(("train", "job-1", EmissionsCsv.DefaultExperimentId), (row["project_name"], row["run_id"], row["experiment_id"]));
        Assert.Equal(3600, Number("duration"));
        Assert.Equal(0.0072, Number("emissions"), 12);
        Assert.Equal(0.0072 / 3600, Number("emissions_rate"), 15);
        Assert.Equal((5.0, 2.0, 0.0), (Number("cpu_power"), Number("gpu_power"), Number("ram_power")));
        Assert.Equal(0.005, Number("cpu_energy"), 12);
        Assert.Equal(0.002, Number("gpu_energy"), 12);
        Assert.Equal(0.01, Number("energy_consumed"), 12);
        Assert.Equal(("Spain", "ESP", "ES"), (row["country_name"], row["country_iso_code"], row["region"]));
        Assert.Equal((4, 1, 8), (Number("cpu_count"), Number("gpu_count"), Number("ram_total_size")));
        Assert.Equal(("", ""), (row["longitude"], row["latitude"]));
        Assert.Equal(("process", "N"), (row["tracking_mode"], row["on_cloud"]));
        Assert.All(["water_consumed", "cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent", "ram_used_gb", "wue"],
            column => Assert.Equal(0, Number(column)));
        Assert.Equal(1, Number("pue"));
    }

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

    internal static JobRecord Job(string name, string zone) =>
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
