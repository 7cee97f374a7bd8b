namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>How a <see cref="FeatureBinning"/> sorts values into bins.</summary>
public enum BinningKind
{
    /// <summary>Equal-width bins over the reference's range, plus one bin below it and one above it.</summary>
    EqualWidth,

    /// <summary>One bin per distinct reference value, plus one for every other value (a numeric feature with few values).</summary>
    Discrete,

    /// <summary>One bin per reference category, plus one for every other category.</summary>
    Categorical,
}
