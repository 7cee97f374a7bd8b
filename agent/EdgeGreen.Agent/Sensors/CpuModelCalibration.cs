using System.Globalization;

namespace EdgeGreen.Agent.Sensors;

/// <summary>
/// Calibrates the CPU utilisation model from RAPL on a node that has it: holds the CPUs at a
/// series of load levels, pairs each level's measured package power with its /proc/stat
/// utilisation, and fits P = Idle + u × (Max − Idle) by least squares. The result goes into
/// <c>CpuModel:IdleWatts</c> and <c>CpuModel:MaxWatts</c> of nodes of the same hardware that cannot
/// read RAPL (VMs and containers on it), so that their model is this machine's, not a default.
/// </summary>
public sealed class CpuModelCalibration(RaplSensor rapl, string procRoot, Func<double, IDisposable> holdLoad, Func<TimeSpan, Task> wait)
{
    /// <summary>The load levels, as shares of all logical CPUs.</summary>
    public static readonly double[] Levels = [0, 0.25, 0.5, 0.75, 1];

    public const string Usage = "usage: EdgeGreen.Agent calibrate [--seconds-per-level N] [--EdgeGreen:Agent:Sensors:KEY=VALUE ...]";

    public async Task<CalibrationResult> RunAsync(TimeSpan perLevel, TextWriter progress)
    {
        var points = new List<CalibrationPoint>();
        foreach (var level in Levels)
        {
            using (holdLoad(level))
            {
                // Let the load settle for a fifth of the step, then measure the rest.
                await wait(perLevel / 5);
                rapl.Sample();
                var before = ProcStat.Read(procRoot);
                await wait(perLevel * 4 / 5);
                var joules = rapl.Sample().Where(d => d.Domain == "cpu.package").ToList();
                var after = ProcStat.Read(procRoot);
                var seconds = joules.Sum(d => d.Interval.TotalSeconds) / Math.Max(1, joules.Count);
                var point = new CalibrationPoint(level, after.UtilisationSince(before), joules.Sum(d => d.EnergyJoules) / seconds);
                points.Add(point);
                await progress.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"load {level * 100,3:F0}%: utilisation {point.Utilisation * 100,5:F1}%, package {point.PowerWatts,7:F1} W"));
            }
        }

        return Fit(points);
    }

    /// <summary>Least-squares line through (utilisation, power); idle at u = 0, max at u = 1.</summary>
    public static CalibrationResult Fit(IReadOnlyList<CalibrationPoint> points)
    {
        var n = points.Count;
        var meanU = points.Average(p => p.Utilisation);
        var meanP = points.Average(p => p.PowerWatts);
        var sxx = points.Sum(p => (p.Utilisation - meanU) * (p.Utilisation - meanU));
        if (n < 2 || sxx < 1e-6)
        {
            throw new InvalidOperationException("The load levels did not change the CPU utilisation; nothing to fit (is something else holding the CPUs?).");
        }

        var slope = points.Sum(p => (p.Utilisation - meanU) * (p.PowerWatts - meanP)) / sxx;
        var idle = meanP - (slope * meanU);
        var total = points.Sum(p => (p.PowerWatts - meanP) * (p.PowerWatts - meanP));
        var residual = points.Sum(p => Math.Pow(p.PowerWatts - (idle + (slope * p.Utilisation)), 2));
        return new CalibrationResult(idle, idle + slope, total > 0 ? 1 - (residual / total) : 1, points);
    }

    /// <summary><c>EdgeGreen.Agent calibrate</c>: holds real load with spinning threads and prints the settings to copy.</summary>
    public static async Task<int> RunCommandAsync(string[] args, TextWriter output)
    {
        var seconds = 10.0;
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--seconds-per-level" && i + 1 < args.Length && double.TryParse(args[i + 1], CultureInfo.InvariantCulture, out seconds) && seconds >= 1)
            {
                i++;
            }
            else if (args[i].StartsWith("--EdgeGreen:", StringComparison.Ordinal))
            {
                rest.Add(args[i]);
            }
            else
            {
                await output.WriteLineAsync($"calibrate: cannot use '{args[i]}'.\n{Usage}");
                return 2;
            }
        }

        var options = DefaultSettings.AgentFromCommandLine(rest);
        if (RaplSensor.TryCreate(options.Sensors.SysfsRoot, options.Sensors.Rapl, TimeProvider.System, out var reason) is not { } rapl)
        {
            await output.WriteLineAsync($"calibrate: needs readable RAPL counters on this machine: {reason}.");
            return 1;
        }

        var cpus = Environment.ProcessorCount;
        var calibration = new CpuModelCalibration(rapl, options.Sensors.ProcRoot, share => SpinningThreads.Hold((int)Math.Round(share * cpus)), t => Task.Delay(t));
        await output.WriteLineAsync($"Calibrating the CPU model on {cpus} logical CPUs, {seconds:0} s per load level.");
        var result = await calibration.RunAsync(TimeSpan.FromSeconds(seconds), output);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"Fit: idle {result.IdleWatts:F1} W, full load {result.MaxWatts:F1} W, R² {result.RSquared:F3}. Settings for nodes of this hardware:"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"EdgeGreen__Agent__CpuModel__IdleWatts={result.IdleWatts:F1}"));
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"EdgeGreen__Agent__CpuModel__MaxWatts={result.MaxWatts:F1}"));
        return 0;
    }

    /// <summary>N threads spinning until disposed.</summary>
    private sealed class SpinningThreads : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Thread[] _threads;

        private SpinningThreads(int count)
        {
            _threads = [.. Enumerable.Range(0, count).Select(_ => new Thread(Spin) { IsBackground = true })];
            foreach (var thread in _threads)
            {
                thread.Start();
            }
        }

        public static IDisposable Hold(int count) => new SpinningThreads(count);

        public void Dispose()
        {
            _stop.Cancel();
            foreach (var thread in _threads)
            {
                thread.Join();
            }

            _stop.Dispose();
        }

        private void Spin()
        {
            var state = 0x9E3779B97F4A7C15UL;
            while (!_stop.IsCancellationRequested)
            {
                for (var i = 0; i < 100_000; i++)
                {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                }
            }

            GC.KeepAlive(state);
        }
    }
}

public sealed record CalibrationPoint(double Level, double Utilisation, double PowerWatts);

/// <summary>The fitted model and how well the line explains the measurements (R²).</summary>
public sealed record CalibrationResult(double IdleWatts, double MaxWatts, double RSquared, IReadOnlyList<CalibrationPoint> Points);
