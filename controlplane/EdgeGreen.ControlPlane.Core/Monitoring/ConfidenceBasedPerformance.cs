namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Expected performance of a binary classifier while labels are not yet known, from its scores alone:
/// NannyML's confidence-based performance estimation (CBPE). It holds only where the scores are
/// calibrated — a score of 0.8 is right 80 % of the time — on the traffic being judged; NannyML
/// calibrates on reference data first, and a caller here must pass scores already calibrated (a
/// model whose scores are not should be calibrated on its reference before its estimates are trusted).
/// Under covariate shift alone calibration holds and the estimate tracks the real metric; under
/// concept drift it does not, which only labels can reveal.
/// </summary>
public static class ConfidenceBasedPerformance
{
    /// <summary>
    /// Expected accuracy with predictions made at <paramref name="threshold"/>: each prediction is right
    /// with chance p when it says 1 and 1 − p when it says 0 (NannyML's <c>estimate_accuracy</c>).
    /// </summary>
    public static double ExpectedAccuracy(IReadOnlyList<double> calibratedScores, double threshold = 0.5)
    {
        RequireScores(calibratedScores);
        return calibratedScores.Sum(p => p >= threshold ? p : 1 - p) / calibratedScores.Count;
    }

    /// <summary>
    /// Expected ROC AUC (NannyML's <c>estimate_roc_auc</c>): sorted by score, highest first, each
    /// prediction adds p expected true positives and 1 − p expected false positives; the cumulative
    /// counts, rounded to five decimals as NannyML rounds them and divided by their totals, are the
    /// expected TPR and FPR curves, whose trapezoidal area is the estimate. Tied scores carry equal
    /// calibrated scores, so their steps are collinear and their order does not change the area.
    /// </summary>
    public static double ExpectedRocAuc(IReadOnlyList<double> calibratedScores)
    {
        RequireScores(calibratedScores);
        var sorted = calibratedScores.OrderByDescending(p => p).ToArray();
        var truePositives = new double[sorted.Length + 1];
        var falsePositives = new double[sorted.Length + 1];
        var cumulative = 0.0;
        for (var i = 0; i < sorted.Length; i++)
        {
            cumulative += sorted[i];
            truePositives[i + 1] = Math.Round(cumulative, 5, MidpointRounding.ToEven);
            falsePositives[i + 1] = Math.Round(1 + i - cumulative, 5, MidpointRounding.ToEven);
        }

        var totalTrue = truePositives[^1];
        var totalFalse = falsePositives[^1];
        if (totalTrue == 0 || totalFalse == 0)
        {
            // NannyML divides by zero here and gets NaN: the scores expect a single class.
            return double.NaN;
        }

        var area = 0.0;
        for (var i = 1; i < truePositives.Length; i++)
        {
            area += (falsePositives[i] - falsePositives[i - 1]) / totalFalse * (truePositives[i] + truePositives[i - 1]) / totalTrue / 2;
        }

        return area;
    }

    private static void RequireScores(IReadOnlyList<double> scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (scores.Count == 0 || scores.Any(p => !(p >= 0 && p <= 1)))
        {
            throw new ArgumentException("Scores must be probabilities in [0, 1], at least one.", nameof(scores));
        }
    }
}
