using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Outbox;
using EdgeGreen.Contracts.V1;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent.Tests.Jobs;

public sealed class JobReportOutboxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("edgegreen-job-reports-").FullName;

    [Fact]
    public void Add_SurvivesReopeningTheOutbox_UntilRemoved()
    {
        using (var outbox = OpenOutbox())
        {
            var reports = new JobReportOutbox(outbox);
            reports.Add(new CompleteJobRequest { JobId = "j1", Outcome = JobOutcome.Succeeded, EnergyJoules = 12.5 });
            reports.Add(new CompleteJobRequest { JobId = "j2", Outcome = JobOutcome.Failed, Error = "boom" });
            // The same job reported twice keeps only the latest report.
            reports.Add(new CompleteJobRequest { JobId = "j2", Outcome = JobOutcome.Cancelled });
        }

        using var reopened = OpenOutbox();
        var again = new JobReportOutbox(reopened);

        Assert.Equal(2, again.Count);
        Assert.Equal(12.5, again.Pending().Single(r => r.JobId == "j1").EnergyJoules);
        Assert.Equal(JobOutcome.Cancelled, again.Pending().Single(r => r.JobId == "j2").Outcome);
        again.Remove("j1");
        Assert.Equal(["j2"], again.Pending().Select(r => r.JobId));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private ReadingOutbox OpenOutbox() => ReadingOutboxTests.Open(_directory);
}
