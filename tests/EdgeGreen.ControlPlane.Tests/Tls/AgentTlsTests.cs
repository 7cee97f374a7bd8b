using System.Security.Authentication;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using Grpc.Core;

namespace EdgeGreen.ControlPlane.Tests.Tls;

/// <summary>
/// Agents and a real control plane over TLS on loopback Kestrel, with a CA, server and client
/// certificates minted per test and configured as PEM files, the way docs/tls.md deploys them.
/// </summary>
public sealed class AgentTlsTests : IDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _temp = new();
    private readonly TestPki _fleetCa;
    private readonly PemPair _server;

    public AgentTlsTests()
    {
        _fleetCa = new TestPki(_temp.Sub("pki"), "edgegreen-test-ca");
        _server = _fleetCa.IssueServer("controlplane", "localhost", "controlplane.example");
    }

    [Fact]
    public async Task Agent_HttpsWithCaBundle_RegistersAndUploadsOverTls()
    {
        await using var controlPlane = await StartControlPlaneAsync();
        Assert.Equal(Uri.UriSchemeHttps, controlPlane.GrpcUrl.Scheme);
        await using var agent = await StartAgentAsync(controlPlane, TrustFleetCa);

        await AssertStreamsAsync(controlPlane, agent);
    }

    [Fact]
    public async Task Agent_HttpsWithoutCaBundle_FailsWithTrustErrorNamingTheSetting()
    {
        await using var controlPlane = await StartControlPlaneAsync();
        await using var agent = await StartAgentAsync(controlPlane);

        var refused = await Assert.ThrowsAsync<RpcException>(() => agent.Connection.EnsureEnrolledAsync(CancellationToken.None));

        Assert.Contains(Causes(refused), e => e is AuthenticationException);
        Assert.Contains(agent.Errors.Entries, e => e.Contains("does not trust", StringComparison.Ordinal)
            && e.Contains("RemoteCertificateChainErrors", StringComparison.Ordinal)
            && e.Contains("EdgeGreen:Agent:Tls:CaBundlePath", StringComparison.Ordinal));
        Assert.Empty(await controlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None));
        agent.Errors.Expect("presented a certificate this agent does not trust");
    }

    [Fact]
    public async Task Agent_CaBundleOfAnotherCa_FailsWithTrustError()
    {
        using var otherCa = new TestPki(_temp.Sub("other-pki"), "other-ca");
        await using var controlPlane = await StartControlPlaneAsync();
        await using var agent = await StartAgentAsync(controlPlane, new() { ["EdgeGreen:Agent:Tls:CaBundlePath"] = otherCa.BundlePath });

        var refused = await Assert.ThrowsAsync<RpcException>(() => agent.Connection.EnsureEnrolledAsync(CancellationToken.None));

        Assert.Contains(Causes(refused), e => e is AuthenticationException);
        Assert.Contains(agent.Errors.Entries, e => e.Contains("does not chain to a CA in EdgeGreen:Agent:Tls:CaBundlePath", StringComparison.Ordinal));
        agent.Errors.Expect("presented a certificate this agent does not trust");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("another CA")]
    public async Task ClientCertificateRequired_AgentWithoutAValidCertificate_IsRefused(string certificate)
    {
        using var agentCa = new TestPki(_temp.Sub("agent-pki"), "agent-ca");
        using var otherCa = new TestPki(_temp.Sub("other-pki"), "other-ca");
        await using var controlPlane = await StartControlPlaneAsync(RequireClientCertificates(agentCa));
        var settings = TrustFleetCa;
        if (certificate == "another CA")
        {
            AddClientCertificate(settings, otherCa.IssueClient("impostor"));
        }

        await using var agent = await StartAgentAsync(controlPlane, settings);

        var refused = await Assert.ThrowsAsync<RpcException>(() => agent.Connection.EnsureEnrolledAsync(CancellationToken.None));

        // Refused by the control plane for want of a client certificate, not by the agent for distrust of the server's.
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
        Assert.DoesNotContain(Causes(refused), e => e.Message.Contains("remote certificate", StringComparison.OrdinalIgnoreCase));
        Assert.Empty(agent.Errors.Entries);
        Assert.Empty(await controlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ClientCertificateRequired_AgentWithCertificateFromTheCa_RegistersAndUploads()
    {
        using var agentCa = new TestPki(_temp.Sub("agent-pki"), "agent-ca");
        await using var controlPlane = await StartControlPlaneAsync(RequireClientCertificates(agentCa));
        var settings = TrustFleetCa;
        AddClientCertificate(settings, agentCa.IssueClient("agent-1"));
        await using var agent = await StartAgentAsync(controlPlane, settings);

        await AssertStreamsAsync(controlPlane, agent);
    }

    [Fact]
    public async Task LocalAgent_GrpcEndpointHttpsWithCertificateNamingAnotherHost_StaysConnected()
    {
        // What a deployment has: a certificate for the control plane's public name, from a CA no
        // store of this machine knows, while the local agent dials the loopback address.
        var server = _fleetCa.IssueServer("public-name-only", "controlplane.example");
        using var temp = new TempDirectory();
        await using var controlPlane = await TestControlPlane.StartAsync(temp.Path, localAgent: true, settings: TlsSettings(server));

        await Eventually.WaitUntilAsync(async () => await controlPlane.Service<IAgentStore>().ListAsync(CancellationToken.None) is [var agent]
                && await controlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.Id, CancellationToken.None) > 0,
            Patience, "the local agent enrols and streams over TLS");
        Assert.Equal(Uri.UriSchemeHttps, controlPlane.GrpcUrl.Scheme);
        Assert.Empty(controlPlane.Errors.Entries);
    }

    [Theory]
    [InlineData("EdgeGreen:Agents:ClientCertificate", "Require", false)]
    [InlineData("EdgeGreen:Agents:ClientCaPath", "/nonexistent/ca.crt", true)]
    [InlineData("Kestrel:Endpoints:Grpc:Protocols", "Http1", true)]
    public async Task Start_InvalidControlPlaneTlsSetting_FailsWithMessageNamingTheKey(string key, string value, bool https)
    {
        var settings = https ? TlsSettings(_server) : [];
        if (key.StartsWith("EdgeGreen:Agents:", StringComparison.Ordinal))
        {
            settings["EdgeGreen:Agents:ClientCertificate"] = "Require";
        }

        settings[key] = value;
        await using var app = TestControlPlane.Build(_temp.Sub("cp"), 0, localAgent: false, settings, out _);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_ClientCertificatesRequiredAndLocalAgentWithoutOne_FailsNamingTheLocalAgentsKey()
    {
        using var agentCa = new TestPki(_temp.Sub("agent-pki"), "agent-ca");
        await using var app = TestControlPlane.Build(_temp.Sub("cp"), 0, localAgent: true, RequireClientCertificates(agentCa), out _);

        var error = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());

        Assert.Contains("EdgeGreen:LocalAgent:Tls:ClientCertificatePath", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("EdgeGreen:Agent:Tls:CaBundlePath", "missing.crt")]
    [InlineData("EdgeGreen:Agent:Tls:CaBundlePath", "not-pem")]
    [InlineData("EdgeGreen:Agent:Tls:ClientCertificatePath", "missing.crt")]
    [InlineData("EdgeGreen:Agent:Tls:ClientKeyPath", "not-pem")]
    [InlineData("EdgeGreen:Agent:Tls:ClientKeyPath", "another key")]
    public async Task Start_InvalidAgentTlsSetting_FailsWithMessageNamingTheKey(string key, string value)
    {
        var client = _fleetCa.IssueClient("agent-1");
        var notPem = _temp.Sub("not-pem");
        await File.WriteAllTextAsync(notPem, "not a certificate");
        var settings = new Dictionary<string, string?>
        {
            ["EdgeGreen:Agent:Tls:CaBundlePath"] = _fleetCa.BundlePath,
            ["EdgeGreen:Agent:Tls:ClientCertificatePath"] = client.CertificatePath,
            ["EdgeGreen:Agent:Tls:ClientKeyPath"] = client.KeyPath,
        };
        settings[key] = value switch
        {
            "missing.crt" => _temp.Sub("missing.crt"),
            "not-pem" => notPem,
            "another key" => _fleetCa.IssueClient("agent-2").KeyPath,
            _ => value,
        };

        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            TestAgent.StartAsync(new Uri("https://127.0.0.1:1"), null, _temp.Sub("agent"), settings));

        Assert.Contains(key, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_PlainHttpToAnotherMachine_FailsNamingTheKeyUnlessPlaintextIsAllowed()
    {
        var remote = new Uri("http://controlplane.example:5081");

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestAgent.StartAsync(remote, "egt_unused", _temp.Sub("refused")));
        await using var allowed = await TestAgent.StartAsync(remote, "egt_unused", _temp.Sub("allowed"),
            new Dictionary<string, string?> { ["EdgeGreen:Agent:Tls:AllowPlaintext"] = "true" });

        Assert.Contains("EdgeGreen:Agent:ControlPlaneUrl", error.Message, StringComparison.Ordinal);
        Assert.Contains("EdgeGreen:Agent:Tls:AllowPlaintext", error.Message, StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _fleetCa.Dispose();
        _temp.Dispose();
    }

    private Dictionary<string, string?> TrustFleetCa => new() { ["EdgeGreen:Agent:Tls:CaBundlePath"] = _fleetCa.BundlePath };

    private static void AddClientCertificate(Dictionary<string, string?> settings, PemPair client)
    {
        settings["EdgeGreen:Agent:Tls:ClientCertificatePath"] = client.CertificatePath;
        settings["EdgeGreen:Agent:Tls:ClientKeyPath"] = client.KeyPath;
    }

    private Dictionary<string, string?> RequireClientCertificates(TestPki agentCa)
    {
        var settings = TlsSettings(_server);
        settings["EdgeGreen:Agents:ClientCertificate"] = "Require";
        settings["EdgeGreen:Agents:ClientCaPath"] = agentCa.BundlePath;
        return settings;
    }

    private static Dictionary<string, string?> TlsSettings(PemPair server) => new()
    {
        ["Kestrel:Endpoints:Grpc:Url"] = "https://127.0.0.1:0",
        ["Kestrel:Endpoints:Grpc:Certificate:Path"] = server.CertificatePath,
        ["Kestrel:Endpoints:Grpc:Certificate:KeyPath"] = server.KeyPath,
    };

    private Task<TestControlPlane> StartControlPlaneAsync(Dictionary<string, string?>? settings = null) =>
        TestControlPlane.StartAsync(_temp.Sub("cp"), settings: settings ?? TlsSettings(_server));

    private async Task<TestAgent> StartAgentAsync(TestControlPlane controlPlane, Dictionary<string, string?>? settings = null) =>
        await TestAgent.StartAsync(controlPlane.GrpcUrl, await controlPlane.MintEnrollmentTokenAsync(), _temp.Sub("agent"), settings);

    /// <summary>The agent enrols and every reading it produces becomes durable on the control plane, without an error on either side.</summary>
    private static async Task AssertStreamsAsync(TestControlPlane controlPlane, TestAgent agent)
    {
        agent.Produce(50);

        await Eventually.WaitUntilAsync(() => agent.Outbox.Depth == 0, Patience, "the agent's readings are acknowledged");
        Assert.Equal(50, await controlPlane.Service<ITelemetryStore>().GetDurableSequenceAsync(agent.Connection.AgentId!, CancellationToken.None));
        Assert.Empty(controlPlane.Errors.Entries);
        Assert.Empty(agent.Errors.Entries);
    }

    private static IEnumerable<Exception> Causes(RpcException refused)
    {
        for (Exception? cause = refused.Status.DebugException; cause is not null; cause = cause.InnerException)
        {
            yield return cause;
        }
    }
}
