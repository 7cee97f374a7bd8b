using System.Globalization;
using System.Text;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>Which release line's <c>emissions.csv</c> columns to write.</summary>
public enum EmissionsCsvLayout
{
    /// <summary>CodeCarbon 3.x (checked against 3.2.9): the 2.x columns plus the experiment, water and utilisation columns.</summary>
    CodeCarbon3,

    /// <summary>CodeCarbon 2.0 to 2.6, for readers that predate <c>experiment_id</c>.</summary>
    CodeCarbon2,
}

/// <summary>
/// Finished jobs as rows of CodeCarbon's <c>emissions.csv</c> (its column names, order and units:
/// seconds, kg CO₂e, kg/s, W, kWh, L, GB), so that tools reading CodeCarbon output read EdgeGreen's,
/// and CodeCarbon's own file output appends to the file: it appends only when the file's header
/// holds exactly its fields, and writes its values in field order without reading the header back.
/// One row per job: <c>project_name</c> is the job's name, <c>run_id</c> its id,
/// <c>timestamp</c> its finish (UTC). CPU energy is the <c>cpu.*</c> domains, GPU the <c>gpu*</c>
/// domains, RAM <c>dram</c>; <c>energy_consumed</c> is the job's whole energy, so energy of other
/// domains (a battery or board rail, hwmon channels) is in it and in no column of its own.
/// <c>country_iso_code</c> is ISO 3166 alpha-3 as CodeCarbon writes it, from the zone's country;
/// <c>region</c> is the grid zone; <c>tracking_mode</c> is <c>process</c>, since the energy is the
/// job's attributed share, not the machine's. What EdgeGreen does not know is written as CodeCarbon
/// writes it when it does not know either: its default <c>experiment_id</c>, no water (its default
/// WUE is 0), 0 utilisation (no samples), empty coordinates, PUE 1. Text a caller chose (the job's
/// name, the zone) is written so that no spreadsheet takes it for a formula (see <see cref="Text"/>).
/// </summary>
public static class EmissionsCsv
{
    /// <summary>CodeCarbon's <c>EmissionsData</c> fields in 3.x, in order.</summary>
    public static readonly string[] Columns =
    [
        "timestamp", "project_name", "run_id", "experiment_id", "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power",
        "ram_power", "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "water_consumed", "country_name", "country_iso_code",
        "region", "cloud_provider", "cloud_region", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count",
        "gpu_model", "longitude", "latitude", "ram_total_size", "tracking_mode", "cpu_utilization_percent", "gpu_utilization_percent",
        "ram_utilization_percent", "ram_used_gb", "on_cloud", "pue", "wue",
    ];

    /// <summary>The 2.0-2.6 fields: the 3.x ones without those added since, in the same order.</summary>
    public static readonly string[] CodeCarbon2Columns =
    [
        .. Columns.Except(["experiment_id", "water_consumed", "cpu_utilization_percent", "gpu_utilization_percent", "ram_utilization_percent",
            "ram_used_gb", "wue"]),
    ];

    /// <summary>The <c>experiment_id</c> CodeCarbon writes when none is configured.</summary>
    public const string DefaultExperimentId = "5b0fa12a-3dd7-45bb-9766-cc326314d9f1";

    public static string[] ColumnsOf(EmissionsCsvLayout layout) => layout == EmissionsCsvLayout.CodeCarbon2 ? CodeCarbon2Columns : Columns;

    /// <summary>Only jobs that ran and reported energy have a row.</summary>
    public static bool HasRow(JobRecord job) => job is { EnergyJoules: not null, StartedAt: not null, FinishedAt: not null };

    public static string Write(IEnumerable<JobRecord> jobs, EmissionsCsvLayout layout = EmissionsCsvLayout.CodeCarbon3)
    {
        var columns = ColumnsOf(layout);
        var csv = new StringBuilder();
        csv.AppendJoin(',', columns).Append('\n');
        foreach (var job in jobs.Where(HasRow))
        {
            var cells = Row(job);
            csv.AppendJoin(',', columns.Select(column => Quote(cells[column]))).Append('\n');
        }

        return csv.ToString();
    }

    private static Dictionary<string, string> Row(JobRecord job)
    {
        var seconds = Math.Max((job.FinishedAt!.Value - job.StartedAt!.Value).TotalSeconds, 0);
        double Joules(Func<string, bool> domain) => job.EnergyByDomain.Where(d => domain(d.Domain)).Sum(d => d.EnergyJoules);
        var cpu = Joules(d => d.StartsWith("cpu", StringComparison.Ordinal));
        var gpu = Joules(d => d.StartsWith("gpu", StringComparison.Ordinal));
        var ram = Joules(d => d == "dram");
        var kilograms = job.CarbonGrams / 1000;
        var (countryName, countryIso3) = Country(job.Zone);

        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["timestamp"] = job.FinishedAt.Value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
            ["project_name"] = Text(job.Name),
            ["run_id"] = Text(job.Id),
            ["experiment_id"] = DefaultExperimentId,
            ["duration"] = Number(seconds),
            ["emissions"] = Number(kilograms),
            ["emissions_rate"] = Number(seconds > 0 ? kilograms / seconds : null),
            ["cpu_power"] = Number(seconds > 0 ? cpu / seconds : 0),
            ["gpu_power"] = Number(seconds > 0 ? gpu / seconds : 0),
            ["ram_power"] = Number(seconds > 0 ? ram / seconds : 0),
            ["cpu_energy"] = Number(cpu / JobAccounting.JoulesPerKwh),
            ["gpu_energy"] = Number(gpu / JobAccounting.JoulesPerKwh),
            ["ram_energy"] = Number(ram / JobAccounting.JoulesPerKwh),
            ["energy_consumed"] = Number(job.EnergyJoules!.Value / JobAccounting.JoulesPerKwh),
            ["water_consumed"] = "0.0",
            ["country_name"] = countryName,
            ["country_iso_code"] = countryIso3,
            ["region"] = Text(job.Zone ?? ""),
            ["cloud_provider"] = "",
            ["cloud_region"] = "",
            ["os"] = "",
            ["python_version"] = "",
            ["codecarbon_version"] = "",
            ["cpu_count"] = job.Resources.CpuCores.ToString(CultureInfo.InvariantCulture),
            ["cpu_model"] = "",
            ["gpu_count"] = job.Resources.Gpus.ToString(CultureInfo.InvariantCulture),
            ["gpu_model"] = "",
            ["longitude"] = "",
            ["latitude"] = "",
            ["ram_total_size"] = Number(job.Resources.MemoryBytes / (double)(1L << 30)),
            ["tracking_mode"] = "process",
            ["cpu_utilization_percent"] = "0.0",
            ["gpu_utilization_percent"] = "0.0",
            ["ram_utilization_percent"] = "0.0",
            ["ram_used_gb"] = "0.0",
            ["on_cloud"] = "N",
            ["pue"] = "1.0",
            ["wue"] = "0.0",
        };
    }

    /// <summary>The country of a grid zone (<c>ES</c>, <c>US-CAL-CISO</c>, <c>DK-DK1</c>): its English name and alpha-3 code.</summary>
    private static (string Name, string Iso3) Country(string? zone)
    {
        var code = zone?.Split('-')[0];
        if (code is not { Length: 2 })
        {
            return ("", "");
        }

        try
        {
            var region = new RegionInfo(code);
            return (region.EnglishName, region.ThreeLetterISORegionName);
        }
        catch (ArgumentException)
        {
            return ("", "");
        }
    }

    private static string Number(double? value) => value is { } v && double.IsFinite(v) ? v.ToString("R", CultureInfo.InvariantCulture) : "";

    /// <summary>
    /// A text cell that a spreadsheet would run as a formula (it starts with <c>=</c>, <c>+</c>,
    /// <c>-</c>, <c>@</c>, a tab or a carriage return) gets a leading single quote, as OWASP's CSV
    /// injection advice says, so it is shown as the text it is. Numbers are never passed here: a
    /// negative number must stay a number.
    /// </summary>
    private static string Text(string value) =>
        value.Length > 0 && value[0] is '=' or '+' or '-' or '@' or '\t' or '\r' ? "'" + value : value;

    /// <summary>RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.</summary>
    private static string Quote(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? $"\"{field.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : field;
}
