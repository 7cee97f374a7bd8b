namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Batteries of the power_supply class (<c>&lt;SysfsRoot&gt;/class/power_supply/*</c> with
/// <c>type</c> Battery): the power drawn from the battery, <c>power_now</c> (µW) or else
/// <c>voltage_now</c> (µV) × |<c>current_now</c>| (µA), integrated over each interval. A battery
/// supplies the whole node, so it reports the whole-node domain <c>platform.&lt;name&gt;</c>, and
/// only while it discharges: on mains (charging, full) it supplies nothing and reads 0 W, which is
/// what the domain then means, and the sensor's note says so.
/// </summary>
public sealed class PowerSupplySensor(IReadOnlyList<SysfsChannel> channels, TimeProvider timeProvider) : SysfsChannelSensor(channels, timeProvider)
{
    public override string Id => "power_supply";

    protected override string Kind => "power_supply";

    /// <summary>The batteries whose draw can be read now; null with the reason when there are none.</summary>
    public static PowerSupplySensor? TryCreate(string sysfsRoot, TimeProvider timeProvider, out string? reason)
    {
        var supplies = Path.Combine(sysfsRoot, "class", "power_supply");
        var channels = new List<SysfsChannel>();
        var problems = new List<string>();
        if (Directory.Exists(supplies))
        {
            foreach (var supply in Directory.EnumerateDirectories(supplies).Order(StringComparer.Ordinal))
            {
                if (!string.Equals(ReadText(Path.Combine(supply, "type")), "Battery", StringComparison.Ordinal))
                {
                    continue;
                }

                var channel = Battery(supply);
                if (channel is null)
                {
                    problems.Add($"{supply}: neither power_now nor voltage_now and current_now");
                }
                else if (Readable(channel, problems))
                {
                    channels.Add(channel);
                }
            }
        }

        if (channels.Count == 0)
        {
            reason = problems.Count == 0 ? $"no battery under {supplies}" : "no readable battery: " + string.Join("; ", problems);
            return null;
        }

        reason = problems.Count == 0 ? null : "left out " + string.Join("; ", problems);
        return new PowerSupplySensor(channels, timeProvider) { LeftOut = reason };
    }

    private static SysfsChannel? Battery(string supply)
    {
        var domain = $"platform.{Slug(Path.GetFileName(supply))}";
        var status = Path.Combine(supply, "status");
        var powerNow = Path.Combine(supply, "power_now");
        var voltage = Path.Combine(supply, "voltage_now");
        var current = Path.Combine(supply, "current_now");
        const string While = "; counts only while discharging (on mains the battery supplies nothing)";

        if (File.Exists(powerNow))
        {
            return new SysfsChannel(domain, IsCounter: false, () => Discharging(status) ? Math.Abs(ReadValue(powerNow)) : 0, $"{powerNow}: power integrated over each interval{While}");
        }

        return File.Exists(voltage) && File.Exists(current)
            ? new SysfsChannel(domain, IsCounter: false, () => Discharging(status) ? ReadValue(voltage) * Math.Abs(ReadValue(current)) / 1e6 : 0, $"{voltage} × {current}: power integrated over each interval{While}")
            : null;
    }

    /// <summary>Discharging, or a gauge without a status file (a board that runs from its battery alone).</summary>
    private static bool Discharging(string statusPath) => ReadText(statusPath) is null or "Discharging";
}
