using System.Globalization;
using System.Text;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>
/// Finished jobs as rows of CodeCarbon's <c>emissions.csv</c> (its column names, order and units:
/// seconds, kg CO₂e, kg/s, W, kWh, GB), so that tools reading CodeCarbon output read EdgeGreen's.
/// One row per job: <c>project_name</c> is the job's name, <c>run_id</c> its id,
/// <c>timestamp</c> its finish (UTC). CPU energy is the <c>cpu.*</c> domains, GPU the <c>gpu*</c>
/// domains, RAM <c>dram</c>; <c>energy_consumed</c> is the job's whole energy, so energy of other
/// domains (a battery or board rail, hwmon channels) is in it and in no column of its own.
/// <c>country_iso_code</c> is ISO 3166 alpha-3 as CodeCarbon writes it, from the zone's country;
/// <c>region</c> is the grid zone; <c>tracking_mode</c> is <c>process</c>, since the energy is the
/// job's attributed share, not the machine's. Text a caller chose (the job's name, the zone) is
/// written so that no spreadsheet takes it for a formula (see <see cref="Text"/>).
/// </summary>
public static class EmissionsCsv
{
    public static readonly string[] Columns =
    [
        "timestamp", "project_name", "run_id", "duration", "emissions", "emissions_rate", "cpu_power", "gpu_power", "ram_power",
        "cpu_energy", "gpu_energy", "ram_energy", "energy_consumed", "country_name", "country_iso_code", "region", "cloud_provider",
        "cloud_region", "os", "python_version", "codecarbon_version", "cpu_count", "cpu_model", "gpu_count", "gpu_model", "longitude",
        "latitude", "ram_total_size", "tracking_mode", "on_cloud", "pue",
    ];

    /// <summary>Only jobs that ran and reported energy have a row.</summary>
    public static bool HasRow(JobRecord job) => job is { EnergyJoules: not null, StartedAt: not null, FinishedAt: not null };

    public static string Write(IEnumerable<JobRecord> jobs)
    {
        var csv = new StringBuilder();
        csv.AppendJoin(',', Columns).Append('\n');
        foreach (var job in jobs.Where(HasRow))
        {
            csv.AppendJoin(',', Row(job).Select(Quote)).Append('\n');
        }

        return csv.ToString();
    }

    private static IEnumerable<string> Row(JobRecord job)
    {
        var seconds = Math.Max((job.FinishedAt!.Value - job.StartedAt!.Value).TotalSeconds, 0);
        double Joules(Func<string, bool> domain) => job.EnergyByDomain.Where(d => domain(d.Domain)).Sum(d => d.EnergyJoules);
        var cpu = Joules(d => d.StartsWith("cpu", StringComparison.Ordinal));
        var gpu = Joules(d => d.StartsWith("gpu", StringComparison.Ordinal));
        var ram = Joules(d => d == "dram");
        var kilograms = job.CarbonGrams / 1000;
        var (countryName, countryIso3) = Country(job.Zone);

        return
        [
            job.FinishedAt.Value.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture),
            Text(job.Name),
            Text(job.Id),
            Number(seconds),
            Number(kilograms),
            Number(seconds > 0 ? kilograms / seconds : null),
            Number(seconds > 0 ? cpu / seconds : 0),
            Number(seconds > 0 ? gpu / seconds : 0),
            Number(seconds > 0 ? ram / seconds : 0),
            Number(cpu / JobAccounting.JoulesPerKwh),
            Number(gpu / JobAccounting.JoulesPerKwh),
            Number(ram / JobAccounting.JoulesPerKwh),
            Number(job.EnergyJoules!.Value / JobAccounting.JoulesPerKwh),
            countryName,
            countryIso3,
            Text(job.Zone ?? ""),
            "",
            "",
            "",
            "",
            "",
            job.Resources.CpuCores.ToString(CultureInfo.InvariantCulture),
            "",
            job.Resources.Gpus.ToString(CultureInfo.InvariantCulture),
            "",
            "",
            "",
            Number(job.Resources.MemoryBytes / (double)(1L << 30)),
            "process",
            "N",
            "1.0",
        ];
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
