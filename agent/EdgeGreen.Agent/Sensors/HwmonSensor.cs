using System.Text.RegularExpressions;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Energy and power channels of the hwmon class (<c>&lt;SysfsRoot&gt;/class/hwmon/hwmonN</c>):
/// <c>energyK_input</c> counters (µJ) and <c>powerK_input</c> or <c>powerK_average</c> readings
/// (µW), e.g. AMD GPUs' <c>PPT</c>, server BMC power meters, INA2xx/INA3221 rails on edge boards.
/// A channel's domain is <c>hwmon.&lt;chip&gt;.&lt;label&gt;</c>; a rail whose label names the
/// board's input (<c>VDD_IN</c>, <c>in</c>, <c>input</c>, <c>total</c>) is the whole node,
/// <c>platform.&lt;chip&gt;</c>. Where a channel has both energy and power, the counter is used.
/// </summary>
public sealed partial class HwmonSensor(IReadOnlyList<SysfsChannel> channels, TimeProvider timeProvider) : SysfsChannelSensor(channels, timeProvider)
{
    public override string Id => "hwmon";

    protected override string Kind => "hwmon";

    /// <summary>
    /// The hwmon channels that can be read now, leaving out chips named in <paramref name="ignoreChips"/>.
    /// Null with the reason when there are none.
    /// </summary>
    public static HwmonSensor? TryCreate(string sysfsRoot, IReadOnlyCollection<string> ignoreChips, TimeProvider timeProvider, out string? reason)
    {
        var hwmon = Path.Combine(sysfsRoot, "class", "hwmon");
        var channels = new List<SysfsChannel>();
        var problems = new List<string>();
        if (Directory.Exists(hwmon))
        {
            foreach (var chipDir in Directory.EnumerateDirectories(hwmon, "hwmon*").Order(StringComparer.Ordinal))
            {
                var chip = Slug(ReadText(Path.Combine(chipDir, "name")) ?? Path.GetFileName(chipDir));
                if (ignoreChips.Contains(chip, StringComparer.OrdinalIgnoreCase))
                {
                    continue;
                }

                channels.AddRange(Discover(chipDir, chip).Where(c => Readable(c, problems)));
            }
        }

        if (channels.Count == 0)
        {
            reason = problems.Count == 0
                ? $"no hwmon energy or power channel under {hwmon}"
                : "no readable hwmon channel: " + string.Join("; ", problems);
            return null;
        }

        reason = problems.Count == 0 ? null : "left out " + string.Join("; ", problems);
        return new HwmonSensor(channels, timeProvider) { LeftOut = reason };
    }

    private static IEnumerable<SysfsChannel> Discover(string chipDir, string chip)
    {
        var files = Directory.EnumerateFileSystemEntries(chipDir).Select(Path.GetFileName).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var energy = files.Select(f => EnergyFile().Match(f)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();
        var power = files.Select(f => PowerFile().Match(f)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToHashSet();
        var usedDomains = new HashSet<string>(StringComparer.Ordinal);

        foreach (var index in energy.Union(power).OrderBy(int.Parse))
        {
            var isCounter = energy.Contains(index);
            var prefix = isCounter ? "energy" : "power";
            var label = ReadText(Path.Combine(chipDir, $"{prefix}{index}_label"));
            var domain = label is not null && InputRail().IsMatch(label)
                ? $"platform.{chip}"
                : $"hwmon.{chip}.{Slug(label ?? prefix + index)}";
            if (!usedDomains.Add(domain))
            {
                domain += "_" + index;
            }

            var file = isCounter
                ? Path.Combine(chipDir, $"energy{index}_input")
                : Path.Combine(chipDir, files.Contains($"power{index}_input") ? $"power{index}_input" : $"power{index}_average");
            var note = isCounter ? $"{file}: energy counter" : $"{file}: power integrated over each interval";
            yield return new SysfsChannel(domain, isCounter, () => ReadValue(file), note);
        }
    }

    [GeneratedRegex(@"^energy(\d+)_input$")]
    private static partial Regex EnergyFile();

    [GeneratedRegex(@"^power(\d+)_(?:input|average)$")]
    private static partial Regex PowerFile();

    [GeneratedRegex(@"^(?:VDD_IN|in|input|total|sys_total|system)$", RegexOptions.IgnoreCase)]
    private static partial Regex InputRail();
}
