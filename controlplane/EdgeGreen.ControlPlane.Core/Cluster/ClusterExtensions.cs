namespace EdgeGreen.ControlPlane.Core.Cluster;

public static class ClusterExtensions
{
    /// <summary>Membership and leadership among replicas that share one database (<c>EdgeGreen:Cluster</c>).</summary>
    public static IHostApplicationBuilder AddCluster(this IHostApplicationBuilder builder)
    {
        const string Section = ClusterOptions.SectionName;
        builder.Services.AddOptions<ClusterOptions>().BindConfiguration(Section)
            .Validate(o => o.HeartbeatInterval >= TimeSpan.FromMilliseconds(100), $"{Section}:HeartbeatInterval must be at least 00:00:00.100.")
            .Validate(o => o.LeaderLease >= 2 * o.HeartbeatInterval, $"{Section}:LeaderLease must be at least twice {Section}:HeartbeatInterval.")
            .Validate(o => o.ForgetAfter >= o.LeaderLease, $"{Section}:ForgetAfter must be at least {Section}:LeaderLease.")
            .Validate(o => o.AdvertisedHttpUrl is null || Uri.TryCreate(o.AdvertisedHttpUrl, UriKind.Absolute, out _), $"{Section}:AdvertisedHttpUrl must be an absolute URL.")
            .Validate(o => o.AdvertisedGrpcUrl is null || Uri.TryCreate(o.AdvertisedGrpcUrl, UriKind.Absolute, out _), $"{Section}:AdvertisedGrpcUrl must be an absolute URL.")
            .ValidateOnStart();
        builder.Services.AddSingleton<ClusterMembership>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterMembership>());
        return builder;
    }
}
