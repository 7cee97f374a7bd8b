using EdgeGreen.ControlPlane.Core.Monitoring;

namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>
/// Served traffic as agents summarised it: hourly sums per deployment version (so a long window
/// reads few rows), the predictions kept for labels, and the bounded samples of raw requests.
/// </summary>
public interface IMonitoringStore
{
    /// <summary>
    /// Stores the summaries this store has not seen (by agent and id) in one transaction: each is
    /// added into its version's hour, its predictions and samples kept. A summary seen before
    /// changes nothing and counts as a duplicate.
    /// </summary>
    Task<(int Accepted, int Duplicates)> AddSummariesAsync(IReadOnlyList<InferenceSummaryRecord> summaries, CancellationToken cancellationToken);

    /// <summary>The deployment's hourly sums whose hour starts in [<paramref name="from"/>, <paramref name="to"/>), oldest first, all versions.</summary>
    Task<IReadOnlyList<TrafficWindow>> ListHoursAsync(string deployment, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken);

    /// <summary>The deployment's kept predictions of these request ids (those it has).</summary>
    Task<IReadOnlyList<LoggedPrediction>> FindPredictionsAsync(string deployment, IReadOnlyCollection<string> requestIds, CancellationToken cancellationToken);

    /// <summary>
    /// Joins labels to the deployment's kept predictions by request id (a later label replaces an
    /// earlier one); the request ids that matched no kept prediction.
    /// </summary>
    Task<IReadOnlyList<string>> AddLabelsAsync(string deployment, IReadOnlyList<(string RequestId, double Label)> labels, DateTimeOffset at,
        CancellationToken cancellationToken);

    /// <summary>The deployment's kept predictions made in [<paramref name="from"/>, <paramref name="to"/>), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<LoggedPrediction>> ListPredictionsAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken);

    /// <summary>The deployment's sampled requests in [<paramref name="from"/>, <paramref name="to"/>), newest first, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<SampledRequest>> ListSamplesAsync(string deployment, DateTimeOffset from, DateTimeOffset to, int limit, CancellationToken cancellationToken);

    /// <summary>
    /// Retention: removes hourly sums whose hour starts before <paramref name="hoursBefore"/>, and
    /// predictions, samples and the ids of summaries seen from before <paramref name="detailBefore"/>;
    /// the rows removed.
    /// </summary>
    Task<long> DeleteBeforeAsync(DateTimeOffset hoursBefore, DateTimeOffset detailBefore, CancellationToken cancellationToken);
}
