using System.Net;
using EdgeGreen.ControlPlane.Core.Outbound;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Tests.Outbound;

/// <summary>Which addresses calls on a user's behalf may reach, and how the connection keeps to that.</summary>
public sealed class OutboundGuardTests
{
    private static readonly OutboundGuard Default = Guard();

    [Theory]
    [InlineData("127.0.0.1", "loopback")]
    [InlineData("127.255.0.9", "loopback")]
    [InlineData("::1", "loopback")]
    [InlineData("::ffff:127.0.0.1", "loopback")]
    [InlineData("169.254.169.254", "link-local")]
    [InlineData("::ffff:169.254.169.254", "link-local")]
    [InlineData("fe80::1", "link-local")]
    [InlineData("10.0.0.1", "private")]
    [InlineData("172.31.255.255", "private")]
    [InlineData("192.168.1.1", "private")]
    [InlineData("fd00::1", "unique local")]
    [InlineData("100.64.0.1", "CGNAT")]
    [InlineData("0.0.0.0", "unspecified")]
    [InlineData("::", "unspecified")]
    [InlineData("224.0.0.1", "multicast")]
    [InlineData("ff02::1", "multicast")]
    [InlineData("255.255.255.255", "broadcast")]
    [InlineData("::7f00:1", "IPv4-compatible")]
    [InlineData("64:ff9b::7f00:1", "loopback address behind a NAT64")]
    [InlineData("2002:a00:1::", "private address behind a NAT64 or 6to4")]
    public void Refusal_InternalAddress_NamesItsKindAndTheSetting(string address, string kind)
    {
        var refusal = Default.Refusal(IPAddress.Parse(address));

        Assert.NotNull(refusal);
        Assert.Contains(kind, refusal, StringComparison.Ordinal);
        Assert.Contains("EdgeGreen:Outbound:AllowedNetworks", refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("::ffff:1.1.1.1")]
    [InlineData("2606:4700:4700::1111")]
    [InlineData("64:ff9b::808:808")]
    public void Refusal_PublicAddress_IsNull(string address) => Assert.Null(Default.Refusal(IPAddress.Parse(address)));

    [Fact]
    public void Refusal_AllowedNetwork_OpensThatRangeOnly()
    {
        var guard = Guard("127.0.0.0/8", "10.1.0.0/16");

        Assert.Null(guard.Refusal(IPAddress.Parse("127.0.0.1")));
        Assert.Null(guard.Refusal(IPAddress.Parse("::ffff:127.0.0.1")));
        Assert.Null(guard.Refusal(IPAddress.Parse("10.1.2.3")));
        Assert.NotNull(guard.Refusal(IPAddress.Parse("10.2.0.1")));
        Assert.NotNull(guard.Refusal(IPAddress.Parse("::1")));
        Assert.NotNull(guard.Refusal(IPAddress.Parse("169.254.169.254")));
    }

    [Theory]
    [InlineData("https://hooks.example.com/edgegreen?x=1")]
    [InlineData("http://hooks.example.com:8080/")]
    [InlineData("http://8.8.8.8/hook")]
    public void CheckUrl_PublicHttpUrl_IsAccepted(string url)
    {
        Assert.Null(Default.CheckUrl(url, out var uri));
        Assert.NotNull(uri);
    }

    [Fact]
    public async Task Send_NameResolvingToLoopback_IsRefusedBeforeAnythingIsSent()
    {
        await using var target = await StubServer.StartAsync(routes => routes.MapGet("/", () => "reached"));
        using var http = new HttpClient(Default.CreateHandler());

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(new Uri($"http://localhost:{target.Url.Port}/")));

        var refused = Assert.IsType<OutboundRefusedException>(error.InnerException);
        Assert.Contains("localhost is refused", refused.Message, StringComparison.Ordinal);
        Assert.Contains("loopback", refused.Message, StringComparison.Ordinal);
        Assert.Empty(target.Requests);
    }

    [Fact]
    public async Task Send_Redirect_IsNotFollowed()
    {
        await using var target = await StubServer.StartAsync(routes =>
        {
            routes.MapGet("/", () => Results.Redirect("/internal"));
            routes.MapGet("/internal", () => "reached");
        });
        using var http = new HttpClient(Guard("127.0.0.0/8").CreateHandler());

        using var response = await http.GetAsync(target.Url);

        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/", Assert.Single(target.Requests).Path);
    }

    private static OutboundGuard Guard(params string[] allowedNetworks) =>
        new(Options.Create(new OutboundOptions { AllowedNetworks = [.. allowedNetworks] }));
}
