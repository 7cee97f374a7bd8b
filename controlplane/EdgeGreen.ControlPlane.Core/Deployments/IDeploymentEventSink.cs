namespace EdgeGreen.ControlPlane.Core.Deployments;

/// <summary>Where a deployment's events go as they happen (webhooks, the MQTT feed): each entry added to its history.</summary>
public interface IDeploymentEventSink
{
    void Publish(string deployment, DeploymentEvent happened);
}

/// <summary>Publishes the history entries a stored change added, to every sink.</summary>
public sealed class DeploymentEvents(IEnumerable<IDeploymentEventSink> sinks)
{
    public void PublishAdded(DeploymentRecord? before, DeploymentRecord after)
    {
        ArgumentNullException.ThrowIfNull(after);
        var seen = before?.History.Select(h => (h.At, h.Kind)).ToHashSet() ?? [];
        foreach (var happened in after.History.Where(h => !seen.Contains((h.At, h.Kind))))
        {
            foreach (var sink in sinks)
            {
                sink.Publish(after.Name, happened);
            }
        }
    }
}

/// <summary>Deployment events as the webhook event <c>deployment.changed</c>: <c>{deployment, kind, version, message, at}</c>.</summary>
public sealed class WebhookDeploymentEvents(Webhooks.WebhookDispatcher webhooks) : IDeploymentEventSink
{
    public void Publish(string deployment, DeploymentEvent happened) =>
        webhooks.Publish("deployment.changed", new { deployment, happened.Kind, happened.Version, happened.Message, happened.At });
}
