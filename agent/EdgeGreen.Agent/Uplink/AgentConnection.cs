using System.Text.Json;
using EdgeGreen.Contracts.V1;
using EdgeGreen.Shared;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace EdgeGreen.Agent.Uplink;

/// <summary>
/// The agent's channel to the control plane and its identity: enrols once with a one-time token,
/// keeps the credential in <c>agent-credential.json</c> (mode 0600) in the data directory, and
/// supplies the <c>authorization</c> metadata for every call.
/// </summary>
public sealed partial class AgentConnection(
    IControlPlaneAddress address,
    IEnrollmentTokenSource tokenSource,
    ControlPlaneTls tls,
    IOptions<AgentOptions> options,
    ILogger<AgentConnection> logger) : IDisposable
{
    private readonly SemaphoreSlim _enrolling = new(1, 1);
    private GrpcChannel? _channel;
    private AgentIdentity? _identity;

    private string CredentialPath => Path.Combine(options.Value.DataDirectory, "agent-credential.json");

    public async Task<AgentService.AgentServiceClient> GetAgentClientAsync(CancellationToken cancellationToken) =>
        new(await GetChannelAsync(cancellationToken));

    public async Task<TelemetryService.TelemetryServiceClient> GetTelemetryClientAsync(CancellationToken cancellationToken) =>
        new(await GetChannelAsync(cancellationToken));

    public async Task<JobService.JobServiceClient> GetJobClientAsync(CancellationToken cancellationToken) =>
        new(await GetChannelAsync(cancellationToken));

    public async Task<ArtifactService.ArtifactServiceClient> GetArtifactClientAsync(CancellationToken cancellationToken) =>
        new(await GetChannelAsync(cancellationToken));

    public async Task<MonitoringService.MonitoringServiceClient> GetMonitoringClientAsync(CancellationToken cancellationToken) =>
        new(await GetChannelAsync(cancellationToken));

    /// <summary>The agent's id, once enrolled.</summary>
    public string? AgentId => _identity?.AgentId;

    /// <summary>Metadata carrying the credential; enrols first when the agent has none.</summary>
    public async Task<Metadata> GetCallHeadersAsync(CancellationToken cancellationToken)
    {
        var identity = await EnsureEnrolledAsync(cancellationToken);
        return new Metadata { { "authorization", $"Bearer {identity.Credential}" } };
    }

    /// <summary>
    /// Sets aside a credential the control plane refused (as <c>agent-credential.json.rejected</c>,
    /// not deleted, in case the refusal was a misconfiguration) so that the next call enrols again.
    /// </summary>
    public void Invalidate()
    {
        if (_identity is null)
        {
            return;
        }

        LogCredentialRefused(_identity.AgentId);
        _identity = null;
        if (File.Exists(CredentialPath))
        {
            File.Move(CredentialPath, CredentialPath + ".rejected", overwrite: true);
        }
    }

    public async Task<AgentIdentity> EnsureEnrolledAsync(CancellationToken cancellationToken)
    {
        if (_identity is { } known)
        {
            return known;
        }

        await _enrolling.WaitAsync(cancellationToken);
        try
        {
            if (_identity is null && File.Exists(CredentialPath))
            {
                await using var stream = File.OpenRead(CredentialPath);
                _identity = await JsonSerializer.DeserializeAsync<AgentIdentity>(stream, cancellationToken: cancellationToken);
            }

            return _identity ??= await EnrolAsync(cancellationToken);
        }
        finally
        {
            _enrolling.Release();
        }
    }

    public void Dispose()
    {
        _channel?.Dispose();
        _enrolling.Dispose();
    }

    /// <summary>One channel for the agent's life; it reconnects by itself after failures.</summary>
    private async ValueTask<GrpcChannel> GetChannelAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _channel) is { } channel)
        {
            return channel;
        }

        var target = await address.ResolveAsync(cancellationToken);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            EnableMultipleHttp2Connections = true,
        };
        try
        {
            tls.Configure(handler, target, address.KnownServerCertificate);
        }
        catch
        {
            handler.Dispose();
            throw;
        }

        var created = GrpcChannel.ForAddress(target, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        if (Interlocked.CompareExchange(ref _channel, created, null) is { } raced)
        {
            created.Dispose();
            return raced;
        }

        return created;
    }

    private async Task<AgentIdentity> EnrolAsync(CancellationToken cancellationToken)
    {
        var token = await tokenSource.GetTokenAsync(cancellationToken)
            ?? throw new InvalidOperationException(
                $"The agent has no credential in {options.Value.DataDirectory} and no enrollment token: set EdgeGreen:Agent:EnrollmentToken " +
                "to a token from POST /api/v1/enrollment-tokens.");
        var request = new RegisterRequest { EnrollmentToken = token, Name = options.Value.Name, Zone = options.Value.Zone };
        request.Labels.Add(options.Value.Labels);
        var client = await GetAgentClientAsync(cancellationToken);
        var response = await client.RegisterAsync(request, cancellationToken: cancellationToken);
        var identity = new AgentIdentity(response.AgentId, response.Credential);

        PrivateDirectory.Create(options.Value.DataDirectory);
        await PrivateFile.WriteAsync(CredentialPath, stream => JsonSerializer.SerializeAsync(stream, identity, cancellationToken: cancellationToken));
        LogEnrolled(identity.AgentId, options.Value.Name);
        return identity;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Enrolled as agent {AgentId} ({Name})")]
    private partial void LogEnrolled(string agentId, string name);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane refused the credential of agent {AgentId}; the agent will enrol again")]
    private partial void LogCredentialRefused(string agentId);
}

/// <summary>What enrollment gave the agent: its id and its secret credential.</summary>
public sealed record AgentIdentity(string AgentId, string Credential);
