using EdgeGreen.Agent.Uplink;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent;

/// <summary>Checks every agent setting at start and names the configuration key that is wrong.</summary>
internal sealed class AgentOptionsValidator(string sectionPath, bool requireControlPlaneUrl) : IValidateOptions<AgentOptions>
{
    public ValidateOptionsResult Validate(string? name, AgentOptions options)
    {
        var failures = new List<string>();
        void Check(bool ok, string key, string message)
        {
            if (!ok)
            {
                failures.Add($"{sectionPath}:{key} {message}");
            }
        }

        if (requireControlPlaneUrl)
        {
            Check(options.ControlPlaneUrl is { IsAbsoluteUri: true } url && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps),
                "ControlPlaneUrl", "must be the control plane's gRPC address, e.g. https://controlplane.example:5081.");
            Check(options.ControlPlaneUrl is not { IsAbsoluteUri: true } plain || !ControlPlaneTls.IsPlaintextToRemote(plain) || options.Tls.AllowPlaintext,
                "ControlPlaneUrl", $"is plain http to another machine, so the agent credential would cross the network in clear: use https:// (docs/tls.md) or set {sectionPath}:Tls:AllowPlaintext=true.");
        }

        CheckTls(options.Tls, Check);

        Check(IsListenUrl(options.HttpUrl), "HttpUrl",
            "must be http://HOST:PORT/, e.g. http://localhost:5090/ (HOST + listens on every address).");
        Check(options.GrpcUrl is null || IsListenUrl(options.GrpcUrl), "GrpcUrl",
            "must be unset or http://HOST:PORT, e.g. http://localhost:5091 (HOST + listens on every address).");
        Check(!string.IsNullOrWhiteSpace(options.DataDirectory), "DataDirectory", "must name a directory.");
        Check(options.Name.Length is > 0 and <= 128, "Name", "must be 1 to 128 characters.");
        Check(options.Zone.Length <= 64, "Zone", "must be at most 64 characters.");
        Check(options.SampleInterval >= TimeSpan.FromMilliseconds(10) && options.SampleInterval <= TimeSpan.FromHours(1),
            "SampleInterval", "must be between 00:00:00.010 and 01:00:00.");
        Check(options.HeartbeatInterval >= TimeSpan.FromMilliseconds(100) && options.HeartbeatInterval <= TimeSpan.FromHours(1),
            "HeartbeatInterval", "must be between 00:00:00.100 and 01:00:00.");
        Check(options.MaxPlausiblePowerWatts > 0 && double.IsFinite(options.MaxPlausiblePowerWatts), "MaxPlausiblePowerWatts", "must be a positive number.");
        Check(options.Uplink.BatchSize is >= 1 and <= 10_000, "Uplink:BatchSize", "must be between 1 and 10000.");
        Check(options.Uplink.MaxInFlightBatches is >= 1 and <= 1_000, "Uplink:MaxInFlightBatches", "must be between 1 and 1000.");
        Check(options.Uplink.ReconnectMinDelay > TimeSpan.Zero, "Uplink:ReconnectMinDelay", "must be positive.");
        Check(options.Uplink.ReconnectMaxDelay >= options.Uplink.ReconnectMinDelay, "Uplink:ReconnectMaxDelay", "must not be below ReconnectMinDelay.");
        Check(options.Outbox.MaxReadings >= 1_000, "Outbox:MaxReadings", "must be at least 1000.");
        if (options.SampleInterval > TimeSpan.Zero && options.Uplink.Linger >= TimeSpan.Zero)
        {
            var perLinger = ReadingsPerLinger(options, domains: 1);
            Check(options.Outbox.MaxReadings >= perLinger, "Outbox:MaxReadings",
                $"must hold at least one Uplink:Linger of readings ({perLinger} of one domain at SampleInterval {options.SampleInterval}), or readings are dropped while the agent is online.");
        }
        Check(options.CpuModel.IdleWattsPerCpu >= 0 && double.IsFinite(options.CpuModel.IdleWattsPerCpu), "CpuModel:IdleWattsPerCpu", "must be a non-negative number.");
        Check(options.CpuModel.MaxWattsPerCpu >= options.CpuModel.IdleWattsPerCpu && double.IsFinite(options.CpuModel.MaxWattsPerCpu),
            "CpuModel:MaxWattsPerCpu", "must be a number not below IdleWattsPerCpu.");
        Check(options.Uplink.Linger >= TimeSpan.Zero && options.Uplink.Linger <= TimeSpan.FromMinutes(10), "Uplink:Linger", "must be between 00:00:00 and 00:10:00.");
        Check(options.CpuModel.IdleWatts is null or >= 0 && options.CpuModel.MaxWatts is null or >= 0
            && (options.CpuModel.IdleWatts ?? 0) <= (options.CpuModel.MaxWatts ?? double.MaxValue), "CpuModel:IdleWatts", "and MaxWatts must be non-negative, idle not above max.");
        Check(options.Sensors.RamModel.Modules is >= 0 and <= 1024, "Sensors:RamModel:Modules", "must be from 0 (infer) to 1024.");
        Check(options.Sensors.RamModel.IdleWattsPerModule >= 0 && options.Sensors.RamModel.ActiveWattsPerModule >= options.Sensors.RamModel.IdleWattsPerModule
            && double.IsFinite(options.Sensors.RamModel.ActiveWattsPerModule), "Sensors:RamModel:ActiveWattsPerModule", "must be a number not below IdleWattsPerModule, both non-negative.");
        Check(!string.IsNullOrWhiteSpace(options.Sensors.NvmlLibrary), "Sensors:NvmlLibrary", "must name a library.");
        Check(options.Inference.Provider is "Auto" or "Cpu" or "Cuda", "Inference:Provider", "must be Auto, Cpu or Cuda.");
        Check(options.Embodied.CarbonGrams is null or >= 0 && double.IsFinite(options.Embodied.CarbonGrams ?? 0), "Embodied:CarbonGrams", "must be a non-negative number of grams.");
        Check(options.Embodied.Lifespan > TimeSpan.Zero, "Embodied:Lifespan", "must be positive.");
        Check(options.Attribution.IdleWindow > TimeSpan.Zero, "Attribution:IdleWindow", "must be positive.");
        foreach (var (domain, watts) in options.Attribution.IdlePowerWatts)
        {
            Check(watts >= 0 && double.IsFinite(watts), $"Attribution:IdlePowerWatts:{domain}", "must be a non-negative number.");
        }

        Check(options.Monitoring.MaxPendingSummaries is >= 10 and <= 1_000_000, "Monitoring:MaxPendingSummaries", "must be between 10 and 1000000.");
        Check(options.Monitoring.MaxPredictionsPerWindow is >= 0 and <= 50_000, "Monitoring:MaxPredictionsPerWindow", "must be between 0 and 50000.");
        Check(options.Monitoring.SendInterval >= TimeSpan.FromSeconds(1) && options.Monitoring.SendInterval <= TimeSpan.FromMinutes(10),
            "Monitoring:SendInterval", "must be between 00:00:01 and 00:10:00.");
        Check(options.Monitoring.MaxBatchBytes is >= 64 * 1024 and <= Monitoring.InferenceSummaryOutbox.MaxSummaryBytes, "Monitoring:MaxBatchBytes",
            $"must be between 65536 and {Monitoring.InferenceSummaryOutbox.MaxSummaryBytes} (the control plane takes messages of 4 MiB by default).");
        Check(options.Jobs.ProgressInterval >= TimeSpan.FromMilliseconds(100) && options.Jobs.ProgressInterval <= TimeSpan.FromMinutes(10),
            "Jobs:ProgressInterval", "must be between 00:00:00.100 and 00:10:00.");
        foreach (var (key, value) in options.Labels)
        {
            Check(key.Length is > 0 and <= 63 && value is { Length: <= 256 }, $"Labels:{key}", "must have a 1-63 character key and a value of at most 256 characters.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>How many readings one <see cref="UplinkOptions.Linger"/> gathers from <paramref name="domains"/> energy domains.</summary>
    internal static long ReadingsPerLinger(AgentOptions options, int domains) =>
        domains * (long)Math.Ceiling(options.Uplink.Linger / options.SampleInterval);

    /// <summary>The TLS files are read now, so that a wrong path or a file that is not PEM stops the start, naming its key.</summary>
    private static void CheckTls(ControlPlaneTlsOptions tls, Action<bool, string, string> check)
    {
        if (tls.CaBundlePath is not null && PemCertificates.BundleProblem(tls.CaBundlePath) is { } problem)
        {
            check(false, "Tls:CaBundlePath", $"must be a readable PEM file of CA certificates: {problem}");
        }

        check(tls.ClientCertificatePath is null == tls.ClientKeyPath is null, tls.ClientCertificatePath is null ? "Tls:ClientCertificatePath" : "Tls:ClientKeyPath",
            "must be set together with the other of Tls:ClientCertificatePath and Tls:ClientKeyPath.");
        if (tls is { ClientCertificatePath: { } certificatePath, ClientKeyPath: { } keyPath })
        {
            var (certificate, failedKey, failure) = PemCertificates.ReadWithKey(certificatePath, "Tls:ClientCertificatePath", keyPath, "Tls:ClientKeyPath");
            certificate?.Dispose();
            check(certificate is not null, failedKey ?? "", $"must be a readable PEM file: {failure}");
        }
    }

    /// <summary>http://HOST:PORT with an optional trailing slash; HOST may be + or * (every address).</summary>
    private static bool IsListenUrl(string url)
    {
        const string Scheme = "http://";
        if (!url.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = url[Scheme.Length..].TrimEnd('/');
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(rest[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port is < 1 or > 65535)
        {
            return false;
        }

        var host = rest[..colon];
        return host is "+" or "*" || Uri.CheckHostName(host.Trim('[', ']')) != UriHostNameType.Unknown;
    }
}
