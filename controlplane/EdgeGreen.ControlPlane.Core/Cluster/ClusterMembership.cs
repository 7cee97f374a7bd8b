using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Cluster;

/// <summary>
/// This replica's place in the cluster: a heartbeat every <see cref="ClusterOptions.HeartbeatInterval"/>
/// records it in the shared store and renews or takes the leadership lease. Singleton work
/// (planning and leases, retention, the feed's periodic sources) runs only while
/// <see cref="IsLeader"/>. A leader counts its lease from the moment it asked, by its own
/// monotonic clock, and stops leading one heartbeat before the lease could have run out, so that
/// two replicas never both act as leader, even when the store is slow or unreachable.
/// </summary>
public sealed partial class ClusterMembership(
    IClusterStore store,
    IOptions<ClusterOptions> options,
    TimeProvider clock,
    ILogger<ClusterMembership> logger) : BackgroundService
{
    private readonly ClusterOptions _options = options.Value;
    private readonly DateTimeOffset _startedAt = clock.GetUtcNow();
    private long _leaderUntil;
    private volatile ClusterView _view = new(null, []);
    private (string? Http, string? Grpc) _urls;

    public string ReplicaId { get; } = string.IsNullOrWhiteSpace(options.Value.ReplicaId) ? Guid.NewGuid().ToString("N")[..12] : options.Value.ReplicaId;

    /// <summary>Whether this replica leads now (its lease is held and not about to run out).</summary>
    public bool IsLeader => _view.LeaderId == ReplicaId && clock.GetTimestamp() < Interlocked.Read(ref _leaderUntil);

    /// <summary>The cluster as the last heartbeat saw it.</summary>
    public ClusterView View => _view;

    /// <summary>The leader as the last heartbeat saw it (null while none is known).</summary>
    public ReplicaRecord? Leader => _view.Replicas.FirstOrDefault(r => r.Id == _view.LeaderId);

    /// <summary>Raised on this replica when it starts leading, so that singleton work can pick up at once.</summary>
    public event Action? LeadershipAcquired;

    /// <summary>Where this replica answers, once its endpoints are bound.</summary>
    public void Advertise(Uri http, Uri grpc) =>
        _urls = (_options.AdvertisedHttpUrl ?? http.ToString(), _options.AdvertisedGrpcUrl ?? grpc.ToString());

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first heartbeat before anything else starts: a single replica leads from its first request.
        await BeatAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            Interlocked.Exchange(ref _leaderUntil, 0);
            await store.LeaveAsync(ReplicaId, cancellationToken);
        }
        catch (Exception ex) when (ex is Storage.StorageException or OperationCanceledException)
        {
            // The others take over when the lease runs out.
            LogLeaveFailed(ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HeartbeatInterval, clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await BeatAsync(stoppingToken);
            }
            catch (Storage.StorageException ex)
            {
                LogHeartbeatFailed(ex.Message);
            }
        }
    }

    private async Task BeatAsync(CancellationToken cancellationToken)
    {
        var asked = clock.GetTimestamp();
        var wasLeader = IsLeader;
        var self = new ReplicaRecord(ReplicaId, _urls.Http, _urls.Grpc, typeof(ClusterMembership).Assembly.GetName().Version?.ToString() ?? "", _startedAt, clock.GetUtcNow());
        var view = await store.HeartbeatAsync(self, _options.LeaderLease, _options.ForgetAfter, cancellationToken);
        if (view.LeaderId == ReplicaId)
        {
            var margin = clock.TimestampFrequency * (_options.LeaderLease - _options.HeartbeatInterval).TotalSeconds;
            Interlocked.Exchange(ref _leaderUntil, asked + (long)Math.Max(0, margin));
        }

        _view = view;
        if (!wasLeader && IsLeader)
        {
            LogLeading(ReplicaId);
            LeadershipAcquired?.Invoke();
        }
        else if (wasLeader && !IsLeader)
        {
            LogNoLongerLeading(ReplicaId, view.LeaderId);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {ReplicaId} leads the cluster")]
    private partial void LogLeading(string replicaId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {ReplicaId} no longer leads (leader now: {LeaderId})")]
    private partial void LogNoLongerLeading(string replicaId, string? leaderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cluster heartbeat failed; leadership lapses if this goes on: {Reason}")]
    private partial void LogHeartbeatFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not leave the cluster cleanly: {Reason}")]
    private partial void LogLeaveFailed(string reason);
}
