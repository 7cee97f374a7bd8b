namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>Performance of a model over (prediction, label) pairs, once labels have arrived.</summary>
public static class PerformanceMetrics
{
    /// <summary>
    /// The area under the ROC curve of scores against binary labels, as scikit-learn's
    /// <c>roc_auc_score</c>: its trapezoids over tied scores equal the Mann–Whitney statistic with tied
    /// scores given their average rank, which is how it is computed here.
    /// </summary>
    public static double RocAuc(IReadOnlyList<double> scores, IReadOnlyList<bool> labels)
    {
        RequirePairs(scores, labels);
        var positives = labels.Count(l => l);
        var negatives = labels.Count - positives;
        if (positives == 0 || negatives == 0)
        {
            throw new ArgumentException("ROC AUC needs both classes among the labels.", nameof(labels));
        }

        var order = Enumerable.Range(0, scores.Count).OrderBy(i => scores[i]).ToArray();
        var positiveRankSum = 0.0;
        for (var start = 0; start < order.Length;)
        {
            var end = start;
            while (end + 1 < order.Length && scores[order[end + 1]] == scores[order[start]])
            {
                end++;
            }

            var averageRank = ((start + end) / 2.0) + 1;
            for (var i = start; i <= end; i++)
            {
                positiveRankSum += labels[order[i]] ? averageRank : 0;
            }

            start = end + 1;
        }

        return (positiveRankSum - (positives * (positives + 1.0) / 2)) / ((double)positives * negatives);
    }

    public static double Accuracy<T>(IReadOnlyList<T> predictions, IReadOnlyList<T> labels)
    {
        RequirePairs(predictions, labels);
        var comparer = EqualityComparer<T>.Default;
        return (double)predictions.Where((p, i) => comparer.Equals(p, labels[i])).Count() / predictions.Count;
    }

    public static double RootMeanSquaredError(IReadOnlyList<double> predictions, IReadOnlyList<double> labels)
    {
        RequirePairs(predictions, labels);
        return Math.Sqrt(predictions.Select((p, i) => (p - labels[i]) * (p - labels[i])).Average());
    }

    private static void RequirePairs<TPrediction, TLabel>(IReadOnlyList<TPrediction> predictions, IReadOnlyList<TLabel> labels)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(labels);
        if (predictions.Count == 0 || predictions.Count != labels.Count)
        {
            throw new ArgumentException($"Expected as many labels as predictions, at least one; got {predictions.Count} and {labels.Count}.", nameof(labels));
        }
    }
}
