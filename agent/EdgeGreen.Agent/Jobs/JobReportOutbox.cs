using EdgeGreen.Agent.Outbox;
using EdgeGreen.Contracts.V1;
using Google.Protobuf;
using LiteDB;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// Job completions waiting for the control plane, kept in the agent's outbox file: a report is
/// written before it is sent and deleted only once the control plane has taken (or refused) it,
/// so a finished job's record survives an agent restart or a long disconnection.
/// </summary>
public sealed class JobReportOutbox
{
    private readonly ILiteCollection<JobReportEntry> _reports;
    private readonly AsyncSignal _added = new();

    public JobReportOutbox(ReadingOutbox outbox)
    {
        _reports = outbox.Database.GetCollection<JobReportEntry>("job_reports");
    }

    public int Count => _reports.Count();

    public void Add(CompleteJobRequest report)
    {
        _reports.Upsert(new JobReportEntry { Id = report.JobId, Report = report.ToByteArray() });
        _added.Notify();
    }

    public IReadOnlyList<CompleteJobRequest> Pending() =>
        [.. _reports.FindAll().Select(e => CompleteJobRequest.Parser.ParseFrom(e.Report))];

    public void Remove(string jobId) => _reports.Delete(jobId);

    /// <summary>Completes when a report is added.</summary>
    internal Task WaitAsync(CancellationToken cancellationToken) => _added.WaitAsync(cancellationToken);

    internal sealed class JobReportEntry
    {
        public string Id { get; set; } = "";

        public byte[] Report { get; set; } = [];
    }
}
