namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// The feed's topics under the prefix (default <c>edgegreen/v1</c>):
/// <c>{prefix}/agents/{agentId}/readings</c>, <c>{prefix}/agents/{agentId}/status</c> (retained),
/// <c>{prefix}/jobs/{jobId}/{submitted|completed}</c>, <c>{prefix}/deployments/{name}/events</c>,
/// <c>{prefix}/zones/{zone}/intensity</c> (retained)
/// <c>{prefix}/control-plane/status</c> (retained) and each alert rule's own <c>{prefix}/{topic}</c>.
/// </summary>
public static class FeedTopics
{
    public static string Readings(string prefix, string agentId) => $"{prefix}/agents/{Segment(agentId)}/readings";

    public static string AgentStatus(string prefix, string agentId) => $"{prefix}/agents/{Segment(agentId)}/status";

    public static string Job(string prefix, string jobId, string @event) => $"{prefix}/jobs/{Segment(jobId)}/{@event}";

    public static string Deployment(string prefix, string deployment) => $"{prefix}/deployments/{Segment(deployment)}/events";

    public static string Intensity(string prefix, string zone) => $"{prefix}/zones/{Segment(zone)}/intensity";

    /// <summary>An alert rule's MQTT target: its topic (checked with <see cref="IsValidPrefix"/>) under the prefix.</summary>
    public static string Alert(string prefix, string topic) => $"{prefix}/{topic}";

    public static string ControlPlaneStatus(string prefix) => $"{prefix}/control-plane/status";

    /// <summary>Whether <paramref name="topic"/> is the prefix or lies under it.</summary>
    public static bool IsUnder(string topic, string prefix) =>
        topic == prefix || topic.StartsWith(prefix + "/", StringComparison.Ordinal);

    /// <summary>A valid prefix: levels without wildcards, not starting or ending with a separator, not a system topic.</summary>
    public static bool IsValidPrefix(string? prefix) =>
        !string.IsNullOrWhiteSpace(prefix) && !prefix.StartsWith('/') && !prefix.EndsWith('/') && !prefix.StartsWith('$')
        && prefix.IndexOfAny(['+', '#', '\0']) < 0 && !prefix.Contains("//", StringComparison.Ordinal);

    /// <summary>An id as one topic level: the separator and the wildcards cannot appear in it.</summary>
    private static string Segment(string id) => id.Replace('/', '_').Replace('+', '_').Replace('#', '_');
}
