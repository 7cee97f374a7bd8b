using EdgeGreen.Contracts.V1;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>
/// The deployments as agents see them: what each agent should serve (answered with every
/// heartbeat) and which artifacts that lets it download. Reads the store on each call; the
/// deployments are few and heartbeats come once per interval per agent.
/// </summary>
public sealed class DeploymentCatalog(IDeploymentStore store, IAgentStore agents, DeploymentObservations observations,
    Microsoft.Extensions.Options.IOptions<Agents.AgentsOptions> agentsOptions, IModelStore models, Monitoring.ReferenceProfiles profiles, TimeProvider timeProvider)
{
    /// <summary>
    /// Whether the deployment has settled on its current version: no rollout in progress, and every
    /// online target agent (at least one) reports serving it.
    /// </summary>
    public async Task<bool> IsHealthyAsync(DeploymentRecord deployment, CancellationToken cancellationToken)
    {
        if (deployment.Rollout is not null)
        {
            return false;
        }

        var now = timeProvider.GetUtcNow();
        var online = (await agents.ListAsync(cancellationToken))
            .Where(a => deployment.Target.Includes(a.Id, a.EffectiveZone, a.Labels) && a.LastHeartbeatAt is { } seen && now - seen <= agentsOptions.Value.OfflineAfter)
            .Select(a => a.Id).ToList();
        var serving = observations.For(deployment.Name).Where(r => r.Served.Version == deployment.Current.Version && r.Served.State == "serving")
            .Select(r => r.AgentId).ToHashSet(StringComparer.Ordinal);
        return online.Count > 0 && online.All(serving.Contains);
    }

    /// <summary>The deployments the agent is a target of, as the heartbeat answer carries them.</summary>
    public async Task<IReadOnlyList<DesiredDeployment>> DesiredForAsync(string agentId, CancellationToken cancellationToken)
    {
        if (await agents.GetAsync(agentId, cancellationToken) is not { } agent)
        {
            return [];
        }

        var desired = new List<DesiredDeployment>();
        IReadOnlyList<AgentRecord>? known = null;
        foreach (var deployment in await store.ListAsync(cancellationToken))
        {
            if (deployment.Target.Includes(agent.Id, agent.EffectiveZone, agent.Labels))
            {
                // During a rollout only the step's share of the target agents serve the new version.
                var serves = deployment.Current;
                if (deployment.Rollout is not null && deployment.Previous is { } previous)
                {
                    known ??= await agents.ListAsync(cancellationToken);
                    serves = DeploymentRollouts.NewVersionAgents(deployment, known).Contains(agent.Id) ? deployment.Current : previous;
                }

                // An experiment splits each agent's traffic between control and treatment, sticky by request key.
                var message = new DesiredDeployment { Deployment = deployment.Name, Threads = deployment.Threads };
                var experiment = deployment.RunningExperiment;
                foreach (var (version, weight) in experiment is null ? [(serves, 100)] : new[] { (serves, 100 - experiment.TrafficPercent), (experiment.Treatment, experiment.TrafficPercent) })
                {
                    message.Versions.Add(new DeploymentVersion
                    {
                        Model = version.Model, Version = version.Version, Sha256 = version.Sha256, Weight = weight,
                        Monitoring = await MonitoringProfileAsync(deployment, version, cancellationToken),
                    });
                }

                desired.Add(message);
            }
        }

        return desired;
    }

    /// <summary>
    /// How the agent summarises the version's traffic: null when monitoring is off or the version
    /// has no reference yet (a reference being made is in the next heartbeat's answer).
    /// </summary>
    private async Task<MonitoringProfile?> MonitoringProfileAsync(DeploymentRecord deployment, DeployedVersion serves, CancellationToken cancellationToken)
    {
        if (!deployment.Monitoring.Enabled || await models.GetVersionAsync(serves.Model, serves.Version, cancellationToken) is not { } version
            || profiles.TryGet(version) is not { } reference)
        {
            return null;
        }

        var settings = deployment.Monitoring;
        var profile = new MonitoringProfile
        {
            SampleRate = settings.SampleRate,
            SampleSize = settings.SampleSize,
            LogPredictions = settings.LogPredictions,
            Window = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(settings.Window),
        };
        profile.Inputs.Add(reference.Inputs.Select(f => Monitoring.ProfileBins.ToProto(f.Name, f.Binning)));
        profile.Outputs.Add(reference.Outputs.Select(f => Monitoring.ProfileBins.ToProto(f.Name, f.Binning)));
        return profile;
    }

    /// <summary>Whether some deployment the agent is a target of serves the artifact.</summary>
    public async Task<bool> MayDownloadAsync(string agentId, string sha256, CancellationToken cancellationToken) =>
        (await DesiredForAsync(agentId, cancellationToken)).Any(d => d.Versions.Any(v => v.Sha256 == sha256));
}
