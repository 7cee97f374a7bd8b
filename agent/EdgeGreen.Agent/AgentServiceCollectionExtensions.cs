using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Agent.Sampling;
using EdgeGreen.Agent.Sensors;
using EdgeGreen.Agent.Uplink;
using EdgeGreen.Shared;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent;

public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Adds the whole agent (sensors, sampling, outbox, uplink, heartbeat, jobs, serving and the
    /// monitoring of served traffic, metrics) to a host.
    /// A stand-alone agent finds the control plane and its enrollment token in configuration; a
    /// host that embeds the agent (the control plane's local agent) supplies both through
    /// <paramref name="embedding"/>.
    /// </summary>
    public static IServiceCollection AddEdgeGreenAgent(
        this IServiceCollection services,
        IConfigurationSection section,
        AgentEmbedding? embedding = null)
    {
        services.AddOptions<AgentOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>>(new AgentOptionsValidator(section.Path, requireControlPlaneUrl: embedding is null));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new LogThrottle(sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(_ => Metrics.NewCustomRegistry());
        services.TryAddSingleton<IMetricFactory>(sp => Metrics.WithCustomRegistry(sp.GetRequiredService<CollectorRegistry>()));
        services.AddSingleton<AgentMetrics>();

        if (embedding is null)
        {
            services.AddSingleton<IControlPlaneAddress, ConfiguredControlPlaneAddress>();
            services.AddSingleton<IEnrollmentTokenSource, ConfiguredEnrollmentToken>();
        }
        else
        {
            services.AddSingleton(embedding.Address);
            services.AddSingleton(embedding.TokenSource);
        }

        services.AddSingleton<SensorSelection>();
        services.AddSingleton<IEnumerable<IEnergySensor>>(sp => sp.GetRequiredService<SensorSelection>().Sensors);

        services.AddSingleton<ReadingOutbox>();
        services.AddSingleton<JobEnergyLedger>();
        services.AddSingleton<RunningJobs>();
        services.AddSingleton<Jobs.Ml.InferenceProviders>();
        services.AddSingleton<Serving.ServedModels>();
        services.AddSingleton<Serving.OpenInferenceProtocol>();
        services.AddSingleton<Monitoring.InferenceSummaryOutbox>();
        services.AddSingleton<Monitoring.InferenceMonitors>();
        if (section.GetValue(nameof(AgentOptions.Jobs) + ":" + nameof(JobsOptions.Enabled), defaultValue: true))
        {
            foreach (var kind in BuiltInJobs.Stateless)
            {
                services.AddSingleton(kind);
            }

            // Serving fills this agent's own table of served models, which its endpoint answers from.
            services.AddSingleton<IJobKind>(sp => new Jobs.Ml.ServeJob(sp.GetRequiredService<Serving.ServedModels>()));

            services.AddSingleton<JobReportOutbox>();
            services.AddSingleton<JobRunnerService>();
            services.AddHostedService(sp => sp.GetRequiredService<JobRunnerService>());
        }

        services.AddSingleton(sp => new ControlPlaneTls(section.Path, sp.GetRequiredService<IOptions<AgentOptions>>(),
            sp.GetRequiredService<LogThrottle>(), sp.GetRequiredService<ILogger<ControlPlaneTls>>()));
        services.AddSingleton<AgentConnection>();
        services.AddSingleton<Artifacts.ArtifactTransfer>();
        services.AddSingleton<SamplingService>();
        services.AddSingleton<UplinkService>();
        services.AddSingleton(sp => new Serving.DeploymentReconciler(
            sp.GetRequiredService<Serving.ServedModels>(), sp.GetRequiredService<Artifacts.ArtifactTransfer>(), sp.GetRequiredService<Jobs.Ml.InferenceProviders>(),
            sp.GetRequiredService<IOptions<AgentOptions>>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<Serving.DeploymentReconciler>>(),
            sp.GetRequiredService<JobEnergyLedger>(), sp.GetRequiredService<AgentMetrics>(), sp.GetRequiredService<Monitoring.InferenceMonitors>()));
        services.AddSingleton<Monitoring.InferenceSummarySender>();
        services.AddSingleton<HeartbeatService>();
        services.AddHostedService(sp => sp.GetRequiredService<Serving.DeploymentReconciler>());
        services.AddHostedService(sp => sp.GetRequiredService<SamplingService>());
        services.AddHostedService(sp => sp.GetRequiredService<UplinkService>());
        services.AddHostedService(sp => sp.GetRequiredService<HeartbeatService>());
        services.AddHostedService(sp => sp.GetRequiredService<Monitoring.InferenceSummarySender>());
        return services;
    }
}

/// <summary>How a host that embeds the agent supplies the control plane's address and enrollment tokens.</summary>
public sealed record AgentEmbedding(
    Func<IServiceProvider, IControlPlaneAddress> Address,
    Func<IServiceProvider, IEnrollmentTokenSource> TokenSource);
