using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Carbon;
using EdgeGreen.ControlPlane.Carbon;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Jobs;
using EdgeGreen.Contracts.V1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

public sealed class JobExecutionTests : JobsTest
{
    [Fact]
    public async Task Submit_BurnWithoutDeadline_RunsAtOnceAndRecordsEnergyAndEmissions()
    {
        var agent = await StartAgentAsync();

        var submitted = await SubmitAcceptedAsync(Burn("nightly-burn", "PT1S", new { estimatedPowerWatts = 5.0 }));

        Assert.Equal("pending", submitted.GetProperty("status").GetString());
        Assert.Equal(agent.Connection.AgentId, submitted.GetProperty("agentId").GetString());
        Assert.Equal("ES", submitted.GetProperty("zone").GetString());
        Assert.True(submitted.GetProperty("meetsDeadline").GetBoolean());
        Assert.True(submitted.GetProperty("plannedStart").GetDateTimeOffset() - DateTimeOffset.UtcNow < TimeSpan.FromSeconds(5));
        // Five watts for a second is 5 J; at a few hundred g/kWh that is well under a gram but not zero.
        Assert.InRange(Number(submitted, "forecastCarbonGrams")!.Value, 1e-6, 0.01);
        Assert.Equal(Number(submitted, "forecastCarbonGrams"), Number(submitted, "runNowCarbonGrams"));

        var done = await WaitForStatusAsync(submitted.GetProperty("id").GetString()!, "succeeded", TimeSpan.FromSeconds(30));

        var started = done.GetProperty("startedAt").GetDateTimeOffset();
        var finished = done.GetProperty("finishedAt").GetDateTimeOffset();
        Assert.InRange(finished - started, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(15));
        Assert.True(started >= done.GetProperty("submittedAt").GetDateTimeOffset().AddSeconds(-1));
        Assert.Equal(1, done.GetProperty("attempts").GetInt32());
        Assert.Equal("modelled", done.GetProperty("energyProvenance").GetString());
        var energy = Number(done, "energyJoules")!.Value;
        // How much CPU a one-second burn gets depends on what else this machine runs: only "some".
        Assert.True(energy > 0, $"a one-second burn used {energy} J");
        var intensity = Number(done, "realisedIntensityGramsPerKwh")!.Value;
        Assert.InRange(intensity, 1, 2000);
        Assert.Equal(energy / 3_600_000 * intensity, Number(done, "carbonGrams")!.Value, 9);
        Assert.NotNull(Number(done, "runNowRealisedCarbonGrams"));
        Assert.Equal(Number(done, "runNowRealisedCarbonGrams")!.Value - Number(done, "carbonGrams")!.Value, Number(done, "savedCarbonGrams")!.Value, 9);

        // Prometheus: finished energy by kind; the per-job series lives only while the job runs.
        var metrics = await ControlPlane.CreateClient().GetStringAsync(new Uri("/metrics", UriKind.Relative));
        var burnEnergy = metrics.Split('\n').Single(l => l.StartsWith("edgegreen_jobs_energy_joules_total{kind=\"burn\"} ", StringComparison.Ordinal));
        Assert.Equal(energy, double.Parse(burnEnergy.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), 6);
        Assert.Contains("edgegreen_jobs_energy_joules_total{kind=\"train\"} 0", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain($"edgegreen_job_energy_joules{{job=\"{done.GetProperty("id").GetString()}\"", metrics, StringComparison.Ordinal);

        // The energy report: by domain, adding up to the total; the model runs here, so nothing is measured.
        var report = done.GetProperty("energy");
        var domains = report.GetProperty("domains").EnumerateArray().ToList();
        Assert.Contains(domains, d => d.GetProperty("domain").GetString() == "cpu.package" && d.GetProperty("provenance").GetString() == "modelled");
        Assert.Equal(energy, domains.Sum(d => d.GetProperty("energyJoules").GetDouble()), 6);
        Assert.Equal(energy / 3.6e6, Number(report, "energyKwh")!.Value, 12);
        Assert.Equal(0, Number(report, "measuredShare"));
        Assert.Equal((finished - started).TotalSeconds, Number(report, "durationSeconds")!.Value, 3);
        Assert.Equal(energy / (finished - started).TotalSeconds, Number(report, "averagePowerWatts")!.Value, 3);

        // The same job as CodeCarbon's emissions.csv, alone and in a time range.
        var id = done.GetProperty("id").GetString()!;
        var csv = await Client.GetAsync($"/api/v1/jobs/{id}/emissions.csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.Equal(string.Join(',', EmissionsCsv.Columns), lines[0]);
        var row = lines[0].Split(',').Zip(lines[1].Split(',')).ToDictionary(c => c.First, c => c.Second);
        Assert.Equal(id, row["run_id"]);
        Assert.Equal("nightly-burn", row["project_name"]);
        Assert.Equal(energy / 3.6e6, double.Parse(row["energy_consumed"], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Equal(Number(done, "carbonGrams")!.Value / 1000, double.Parse(row["emissions"], System.Globalization.CultureInfo.InvariantCulture), 12);
        Assert.Equal(("ESP", "ES", "process"), (row["country_iso_code"], row["region"], row["tracking_mode"]));
        var range = await Client.GetStringAsync($"/api/v1/emissions.csv?from={Uri.EscapeDataString(started.AddMinutes(-1).ToString("O"))}");
        Assert.Contains(lines[1], range.Split('\n'));
        Assert.Equal(HttpStatusCode.BadRequest, (await Client.GetAsync($"/api/v1/emissions.csv?from={Uri.EscapeDataString(DateTimeOffset.UtcNow.AddDays(1).ToString("O"))}&to={Uri.EscapeDataString(DateTimeOffset.UtcNow.ToString("O"))}")).StatusCode);

        // A second run of the same name without estimates takes them from the first.
        var again = await SubmitAcceptedAsync(new { name = "nightly-burn", kind = "burn", parameters = new { duration = "PT1S" } });
        Assert.Equal("history", again.GetProperty("durationEstimate").GetString());
        Assert.Equal("history", again.GetProperty("powerEstimate").GetString());
        Assert.Equal(energy / (finished - started).TotalSeconds, Number(again, "estimatedPowerWatts")!.Value, 6);
    }

    [Fact]
    public async Task Submit_WithSlack_PlansTheCleanestWindowBeforeTheDeadline_AndCancelsBeforeItStarts()
    {
        await StartAgentAsync();
        var now = DateTimeOffset.UtcNow;

        // Not before two hours from now: when the current hour is the day's cleanest (it depends on
        // the date the bundled trace replays), a job free to start at once would be running, not cancellable before it starts.
        var earliest = now.AddHours(2);
        var submitted = await SubmitAcceptedAsync(Burn("flexible", "PT1H", new { estimatedPowerWatts = 100.0, earliestStart = earliest, deadline = now.AddHours(24) }));

        var planned = submitted.GetProperty("plannedStart").GetDateTimeOffset();
        Assert.InRange(planned, earliest.AddSeconds(-1), now.AddHours(23).AddMinutes(1));
        var firstHour = new DateTimeOffset(earliest.UtcTicks - (earliest.UtcTicks % TimeSpan.TicksPerHour), TimeSpan.Zero);
        var forecast = (await ControlPlane.Service<CarbonIntensity>().GetForecastAsync("ES", 26, null, CancellationToken.None)).Points
            .Where(p => p.Time >= firstHour && p.Time + TimeSpan.FromHours(1) <= now.AddHours(24)).ToList();
        // Any one-hour window starting inside hour H lies in H and H+1, so the best window can be no
        // dirtier than the best such pair's worse hour.
        var bound = forecast.Zip(forecast.Skip(1), (a, b) => Math.Max(a.IntensityGramsPerKwh, b.IntensityGramsPerKwh)).Min();
        var plannedIntensity = Number(submitted, "forecastIntensityGramsPerKwh")!.Value;
        Assert.True(plannedIntensity <= bound + 1e-9, $"planned at {plannedIntensity} g/kWh, but a window at or below {bound} exists");
        Assert.True(Number(submitted, "forecastCarbonGrams") <= Number(submitted, "runNowCarbonGrams"));
        Assert.Equal(100.0 * 3600 / 3_600_000 * plannedIntensity, Number(submitted, "forecastCarbonGrams")!.Value, 6);

        var id = submitted.GetProperty("id").GetString()!;
        using var cancel = await Client.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var cancelled = await GetJobAsync(id);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(0, cancelled.GetProperty("attempts").GetInt32());
        Assert.Equal(HttpStatusCode.Conflict, (await Client.GetAsync($"/api/v1/jobs/{id}/emissions.csv")).StatusCode);
        using var again = await Client.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task Submit_AcrossZones_GoesWhereTheGridIsCleanest_WithinItsPlacement()
    {
        var spain = await StartAgentAsync("ES", "madrid", site: "lab");
        var norway = await StartAgentAsync("NO", "oslo", site: "dc");
        var carbon = ControlPlane.Service<CarbonIntensity>();
        var current = new Dictionary<string, double>();
        foreach (var zone in new[] { "ES", "NO" })
        {
            current[zone] = (await carbon.GetCurrentAsync(zone, CancellationToken.None))!.IntensityGramsPerKwh;
        }

        var anywhere = await SubmitAcceptedAsync(Burn("anywhere", "PT1S", new { estimatedDuration = "PT5M", deadline = DateTimeOffset.UtcNow.AddMinutes(30) }));
        var labelled = await SubmitAcceptedAsync(Burn("labelled", "PT1S", new { placement = new { agentLabels = new { site = "lab" } } }));
        var zoned = await SubmitAcceptedAsync(Burn("zoned", "PT1S", new { placement = new { zones = new[] { "NO" } } }));

        // Running at once in either zone is a feasible plan, so the chosen one is no dirtier than the cleaner of them.
        Assert.True(Number(anywhere, "forecastIntensityGramsPerKwh") <= current.Values.Min() + 1e-9,
            $"planned at {Number(anywhere, "forecastIntensityGramsPerKwh")} g/kWh in {anywhere.GetProperty("zone")}; now ES is {current["ES"]}, NO {current["NO"]}");
        Assert.Equal(spain.Connection.AgentId, labelled.GetProperty("agentId").GetString());
        Assert.Equal(norway.Connection.AgentId, zoned.GetProperty("agentId").GetString());
        await WaitForStatusAsync(labelled.GetProperty("id").GetString()!, "succeeded", TimeSpan.FromSeconds(30));
        await WaitForStatusAsync(zoned.GetProperty("id").GetString()!, "succeeded", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Submit_DeadlineTooCloseForItsLength_RunsAtOnceAndIsFlagged()
    {
        await StartAgentAsync();

        var submitted = await SubmitAcceptedAsync(Burn("late", "PT1S", new { estimatedDuration = "PT2H", deadline = DateTimeOffset.UtcNow.AddHours(1) }));

        Assert.False(submitted.GetProperty("meetsDeadline").GetBoolean());
        Assert.True(submitted.GetProperty("plannedStart").GetDateTimeOffset() - DateTimeOffset.UtcNow < TimeSpan.FromSeconds(5));
        Assert.Contains("deadline", submitted.GetProperty("statusReason").GetString());
        await WaitForStatusAsync(submitted.GetProperty("id").GetString()!, "succeeded", TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Cancel_RunningJob_TheAgentStopsIt()
    {
        await StartAgentAsync();
        var id = (await SubmitAcceptedAsync(Burn("long", "PT5M", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;
        await WaitForStatusAsync(id, "running", TimeSpan.FromSeconds(20));
        using var scraper = ControlPlane.CreateClient();
        var series = $"edgegreen_job_energy_joules{{job=\"{id}\",kind=\"burn\"}}";
        await Eventually.WaitUntilAsync(async () => (await scraper.GetStringAsync(new Uri("/metrics", UriKind.Relative))).Contains(series, StringComparison.Ordinal),
            TimeSpan.FromSeconds(20), "the running job's energy series appears with its first progress report");

        using var cancel = await Client.PostAsync($"/api/v1/jobs/{id}/cancel", null);
        Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);

        var cancelled = await WaitForStatusAsync(id, "cancelled", TimeSpan.FromSeconds(20));
        Assert.Contains("Cancelled by a user", cancelled.GetProperty("statusReason").GetString());
        Assert.True(cancelled.GetProperty("finishedAt").GetDateTimeOffset() - cancelled.GetProperty("startedAt").GetDateTimeOffset() < TimeSpan.FromMinutes(1));
        Assert.NotNull(Number(cancelled, "energyJoules"));
        Assert.DoesNotContain(series, await scraper.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overrun_OfTheEnergyBudget_StopsTheJob()
    {
        await StartAgentAsync();
        // The estimate (0.01 W) fits the 2 J budget; the real draw of a busy core does not for long.
        var id = (await SubmitAcceptedAsync(Burn("runaway", "PT5M", new { estimatedPowerWatts = 0.001, energyBudgetJoules = 2.0 })))
            .GetProperty("id").GetString()!;

        var stopped = await WaitForStatusAsync(id, "stopped", TimeSpan.FromSeconds(30));

        Assert.Contains("energy budget", stopped.GetProperty("statusReason").GetString());
        Assert.True(stopped.GetProperty("overBudget").GetBoolean());
        Assert.True(Number(stopped, "energyJoules") > 2);
    }

    [Fact]
    public async Task LostLease_QueuesTheJobAgain_AndAnotherAgentRunsIt()
    {
        using var vanishing = await RawAgent.EnrolAsync(ControlPlane, "vanishing");
        var jobs = vanishing.Jobs;
        var state = new AgentState { Zone = "ES", Capacity = new Capacity { CpuCores = 4 } };
        state.JobKinds.Add("burn");
        await vanishing.Agents.HeartbeatAsync(new HeartbeatRequest { State = state }, vanishing.Headers);
        using (var watch = jobs.Watch(new WatchJobsRequest(), vanishing.Headers))
        {
            Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
            var id = (await SubmitAcceptedAsync(Burn("orphan", "PT1S", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;
            Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(id, watch.ResponseStream.Current.Assign.JobId);
            Assert.Equal(1, watch.ResponseStream.Current.Assign.Attempt);
        }

        // The raw agent neither heartbeats nor reports: its lease runs out and the job waits for another agent.
        var orphan = (await Client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).EnumerateArray().Single();
        var orphanId = orphan.GetProperty("id").GetString()!;
        var requeued = await WaitForStatusAsync(orphanId, "pending", TimeSpan.FromSeconds(20));
        Assert.Equal(JsonValueKind.Null, requeued.GetProperty("agentId").ValueKind);
        Assert.Equal(1, ControlPlane.Service<JobMetrics>().LeasesLost.Value);

        var rescuer = await StartAgentAsync(name: "rescuer");
        var done = await WaitForStatusAsync(orphanId, "succeeded", TimeSpan.FromSeconds(30));
        Assert.Equal(rescuer.Connection.AgentId, done.GetProperty("agentId").GetString());
        Assert.Equal(2, done.GetProperty("attempts").GetInt32());

        async Task<StatusCode> CompleteOrphanAsync(double energyJoules, DomainEnergyReport? domain = null, double? embodiedGrams = null)
        {
            var report = new CompleteJobRequest
            {
                JobId = orphanId,
                Outcome = JobOutcome.Succeeded,
                StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-2)),
                FinishedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                EnergyJoules = energyJoules,
            };
            if (domain is not null)
            {
                report.Domains.Add(domain);
            }

            if (embodiedGrams is { } grams)
            {
                report.EmbodiedCarbonGrams = grams;
            }

            return (await Assert.ThrowsAsync<RpcException>(async () => await jobs.CompleteAsync(report, vanishing.Headers))).StatusCode;
        }

        // Domains that do not add up to the total, a negative one, or negative embodied emissions are
        // refused before any state is looked at.
        Assert.Equal(StatusCode.InvalidArgument, await CompleteOrphanAsync(10, new DomainEnergyReport { Domain = "cpu.package", EnergyJoules = 3 }));
        Assert.Equal(StatusCode.InvalidArgument, await CompleteOrphanAsync(-1, new DomainEnergyReport { Domain = "cpu.package", EnergyJoules = -1 }));
        Assert.Equal(StatusCode.InvalidArgument, await CompleteOrphanAsync(1, embodiedGrams: -0.5));

        Assert.Equal(StatusCode.FailedPrecondition, await CompleteOrphanAsync(1));
        Assert.Equal(rescuer.Connection.AgentId, (await GetJobAsync(orphanId)).GetProperty("agentId").GetString());
    }

    [Fact]
    public async Task Submit_WithNoAgent_StaysPendingWithTheReason()
    {
        var submitted = await SubmitAcceptedAsync(Burn("waiting", "PT1S"));

        Assert.Equal("pending", submitted.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Null, submitted.GetProperty("plannedStart").ValueKind);
        Assert.Contains("No agent is connected", submitted.GetProperty("statusReason").GetString());
        Assert.Equal("parameters", submitted.GetProperty("durationEstimate").GetString());
        Assert.Equal("default", submitted.GetProperty("powerEstimate").GetString());
    }

    [Fact]
    public async Task Submit_WithNoAgent_IsAssignedWhenAnAgentFirstReportsItsState_NotAtTheNextReplanInterval()
    {
        var id = (await SubmitAcceptedAsync(Burn("waiting", "PT1S", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;
        using var agent = await RawAgent.EnrolAsync(ControlPlane, "late-worker");
        // The job stream first: the replan it asks for finds no capacity yet (no heartbeat).
        using var watch = agent.Jobs.Watch(new WatchJobsRequest(), agent.Headers);
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        var state = new AgentState { Zone = "ES", Capacity = new Capacity { CpuCores = 4 } };
        state.JobKinds.Add("burn");

        await agent.Agents.HeartbeatAsync(new HeartbeatRequest { State = state }, agent.Headers);

        // The replan interval is five minutes here; the assignment comes within the dispatch ticks.
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(id, watch.ResponseStream.Current.Assign.JobId);
    }
}

public sealed class JobLeaseRenewalTests : JobsTest
{
    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>(base.Settings!)
    {
        ["EdgeGreen:Scheduling:LeaseDuration"] = "00:00:05",
    };

    [Fact]
    public async Task Heartbeats_AloneKeepTheLease_OfAJobRunningLongerThanIt()
    {
        // No progress reports during the run: only the heartbeats (every 0.5 s) renew the 5 s lease
        // (long enough that a busy test machine does not starve the renewals).
        var agent = await StartAgentAsync(progressInterval: "00:10:00");

        var id = (await SubmitAcceptedAsync(Burn("steady", "PT12S", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;

        var done = await WaitForStatusAsync(id, "succeeded", TimeSpan.FromSeconds(30));
        Assert.True(done.GetProperty("attempts").GetInt32() == 1,
            $"the job ran {done.GetProperty("attempts")} times; heartbeats failed {agent.Service<EdgeGreen.Agent.AgentMetrics>().HeartbeatFailures.Value} times");
        Assert.Equal(0, ControlPlane.Service<JobMetrics>().LeasesLost.Value);
    }

    [Fact]
    public async Task Heartbeats_OfAnotherAgentNamingTheJob_NeitherTakeNorDropItsLease()
    {
        var agent = await StartAgentAsync(progressInterval: "00:10:00");
        using var intruder = await RawAgent.EnrolAsync(ControlPlane, "intruder");
        var state = new AgentState { Zone = "ES", Capacity = new Capacity { CpuCores = 4 } };
        var id = (await SubmitAcceptedAsync(Burn("guarded", "PT12S", new { estimatedPowerWatts = 5.0 }))).GetProperty("id").GetString()!;
        await WaitForStatusAsync(id, "running", TimeSpan.FromSeconds(30));

        // The intruder names the job in a heartbeat every 20 ms, all through the run: had its renewals
        // displaced the holder's, the holder's lease would lapse and the job run again. (Paced, so that on
        // a busy two-core machine it does not starve the holder's own heartbeats for a whole lease.)
        using var stop = new CancellationTokenSource();
        var heartbeats = 0;
        var intruding = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                var request = new HeartbeatRequest { State = state };
                request.RunningJobIds.Add(id);
                await intruder.Agents.HeartbeatAsync(request, intruder.Headers);
                heartbeats++;
                await Task.Delay(TimeSpan.FromMilliseconds(20), CancellationToken.None);
            }
        });
        var done = await WaitForStatusAsync(id, "succeeded", TimeSpan.FromSeconds(40));
        await stop.CancelAsync();
        await intruding;

        Assert.True(heartbeats > 100, $"the intruder sent only {heartbeats} heartbeats");
        Assert.Equal(agent.Connection.AgentId, done.GetProperty("agentId").GetString());
        Assert.True(done.GetProperty("attempts").GetInt32() == 1,
            $"the job ran {done.GetProperty("attempts")} times; the holder's heartbeats failed {agent.Service<EdgeGreen.Agent.AgentMetrics>().HeartbeatFailures.Value} times");
        Assert.Equal(0, ControlPlane.Service<JobMetrics>().LeasesLost.Value);
        var progress = new ReportProgressRequest { JobId = id, Fraction = 0.5 };
        Assert.Equal(StatusCode.FailedPrecondition,
            (await Assert.ThrowsAsync<RpcException>(async () => await intruder.Jobs.ReportProgressAsync(progress, intruder.Headers))).StatusCode);
    }
}
