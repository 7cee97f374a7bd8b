using EdgeGreen.Contracts.V1;

namespace EdgeGreen.Agent.Monitoring;

/// <summary>
/// What the agent takes as a <see cref="MonitoringProfile"/>: the control plane is an outside input
/// like any other, and a profile that breaks these bounds would make a monitor's memory or a
/// summary's size grow without limit. A version whose profile fails is served unmonitored.
/// </summary>
internal static class ProfileRules
{
    public const int MaxFeatures = 1_024;
    public const int MaxEdges = 1_001;
    public const int MaxCategories = 1_000;
    public const int MaxSampleSize = 10_000;
    public const int MaxNameLength = 256;
    public static readonly TimeSpan MinWindow = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxWindow = TimeSpan.FromDays(1);

    /// <summary>Why the profile cannot be used; null when it can.</summary>
    public static string? Problem(MonitoringProfile profile)
    {
        var window = profile.Window?.ToTimeSpan() ?? TimeSpan.Zero;
        if (window < MinWindow || window > MaxWindow)
        {
            return $"window must be from {MinWindow} to {MaxWindow}; it is {window}.";
        }

        if (!double.IsFinite(profile.SampleRate) || profile.SampleRate is < 0 or > 1)
        {
            return "sample_rate must be from 0 to 1.";
        }

        if (profile.SampleSize is < 0 or > MaxSampleSize)
        {
            return $"sample_size must be from 0 to {MaxSampleSize}.";
        }

        return Problem("inputs", profile.Inputs) ?? Problem("outputs", profile.Outputs);
    }

    private static string? Problem(string side, IReadOnlyList<FeatureBins> features)
    {
        if (features.Count > MaxFeatures)
        {
            return $"{side} may name at most {MaxFeatures} features.";
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var feature in features)
        {
            if (feature.Name.Length is 0 or > MaxNameLength || !names.Add(feature.Name))
            {
                return $"each of {side} needs a distinct name of 1 to {MaxNameLength} characters.";
            }

            if (feature.Edges.Count > 0)
            {
                if (feature.Categories.Count > 0 || feature.Edges.Count is < 2 or > MaxEdges)
                {
                    return $"{side} '{feature.Name}' must have 2 to {MaxEdges} edges and no categories, or categories and no edges.";
                }

                for (var i = 0; i < feature.Edges.Count; i++)
                {
                    if (!double.IsFinite(feature.Edges[i]) || (i > 0 && feature.Edges[i] <= feature.Edges[i - 1]))
                    {
                        return $"{side} '{feature.Name}' edges must be finite and strictly ascending.";
                    }
                }
            }
            else if (feature.Categories.Count > MaxCategories || feature.Categories.Distinct(StringComparer.Ordinal).Count() != feature.Categories.Count)
            {
                return $"{side} '{feature.Name}' must have at most {MaxCategories} distinct categories.";
            }
        }

        return null;
    }
}
