namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// One drift test of current traffic against the reference. For a distance (<c>psi</c>,
/// <c>wasserstein</c>) the score is the distance and drift is a score at or above the threshold; for a
/// test (<c>ks</c>, <c>chisquare</c>) the score is the p-value and drift is a p-value below it (at or
/// below for <c>ks</c>), as Evidently decides each.
/// </summary>
/// <param name="Method">The test's name, as Evidently names it.</param>
/// <param name="Score">The distance, or the p-value.</param>
/// <param name="Threshold">The level <paramref name="Score"/> is held against.</param>
/// <param name="Drifted">Whether the score crossed the threshold.</param>
/// <param name="Statistic">The test statistic behind a p-value (D, χ²); the distance itself otherwise.</param>
/// <param name="DegreesOfFreedom">For the chi-square test.</param>
public sealed record DriftResult(string Method, double Score, double Threshold, bool Drifted, double Statistic, int? DegreesOfFreedom = null);
