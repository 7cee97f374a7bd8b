using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Outbound;

/// <summary>
/// Keeps calls made on a user's behalf (webhooks today, notifications later) off the control
/// plane's own networks: loopback, link-local (cloud metadata at 169.254.169.254), private
/// (RFC 1918, RFC 4193 unique local, CGNAT 100.64.0.0/10), unspecified, multicast and broadcast
/// addresses are refused, in IPv4-mapped and other IPv6 forms too, unless
/// <c>EdgeGreen:Outbound:AllowedNetworks</c> lists them. URLs are checked when they are given;
/// addresses are checked again as the connection is made, on what the name resolved to then, so
/// a name that resolves elsewhere later (DNS rebinding) cannot get round the check.
/// </summary>
public sealed class OutboundGuard
{
    public const int MaxUrlLength = 2048;

    private static readonly (IPNetwork Network, string Kind)[] Internal =
    [
        (IPNetwork.Parse("0.0.0.0/8"), "an unspecified address"),
        (IPNetwork.Parse("10.0.0.0/8"), "a private address"),
        (IPNetwork.Parse("100.64.0.0/10"), "a shared (CGNAT) address"),
        (IPNetwork.Parse("127.0.0.0/8"), "a loopback address"),
        (IPNetwork.Parse("169.254.0.0/16"), "a link-local address"),
        (IPNetwork.Parse("172.16.0.0/12"), "a private address"),
        (IPNetwork.Parse("192.168.0.0/16"), "a private address"),
        (IPNetwork.Parse("224.0.0.0/4"), "a multicast address"),
        (IPNetwork.Parse("240.0.0.0/4"), "a reserved or broadcast address"),
        (IPNetwork.Parse("::/128"), "an unspecified address"),
        (IPNetwork.Parse("::1/128"), "a loopback address"),
        // IPv4-compatible addresses (deprecated): nothing legitimate uses them any more.
        (IPNetwork.Parse("::/96"), "an IPv4-compatible address"),
        (IPNetwork.Parse("fc00::/7"), "a private (unique local) address"),
        (IPNetwork.Parse("fe80::/10"), "a link-local address"),
        (IPNetwork.Parse("fec0::/10"), "a site-local address"),
        (IPNetwork.Parse("ff00::/8"), "a multicast address"),
    ];

    // IPv6 prefixes that carry an IPv4 address the traffic ends up at: NAT64 and 6to4.
    private static readonly IPNetwork Nat64 = IPNetwork.Parse("64:ff9b::/96");
    private static readonly IPNetwork SixToFour = IPNetwork.Parse("2002::/16");

    private readonly IPNetwork[] _allowed;

    public OutboundGuard(IOptions<OutboundOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _allowed = [.. options.Value.AllowedNetworks.Select(n => IPNetwork.Parse(n))];
    }

    /// <summary>
    /// Why <paramref name="url"/>, given by a user, may not be called (a sentence naming the
    /// problem), or null when it may; then <paramref name="uri"/> is the parsed URL.
    /// </summary>
    public string? CheckUrl(string? url, out Uri? uri)
    {
        uri = null;
        if (string.IsNullOrWhiteSpace(url))
        {
            return "url is required.";
        }

        if (url.Length > MaxUrlLength)
        {
            return $"url must be at most {MaxUrlLength} characters long.";
        }

        if (url.Any(char.IsControl))
        {
            return "url must not contain control characters (CR, LF, tab, …).";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme is not ("http" or "https"))
        {
            return "url must be an absolute http or https URL.";
        }

        if (parsed.UserInfo.Length > 0)
        {
            return "url must not carry a user name or password.";
        }

        // Parsed as the resolver would: numeric forms such as 0x7f000001 are addresses too.
        if (IPAddress.TryParse(parsed.DnsSafeHost, out var address) && Refusal(address) is { } refusal)
        {
            return $"url points at {refusal}.";
        }

        uri = parsed;
        return null;
    }

    /// <summary>Why calls to <paramref name="address"/> are refused, or null when they are allowed.</summary>
    public string? Refusal(IPAddress address)
    {
        ArgumentNullException.ThrowIfNull(address);
        var target = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        if (_allowed.Any(n => n.Contains(target)))
        {
            return null;
        }

        return KindOf(target) is { } kind
            ? $"{address}, {kind}; outbound calls reach such addresses only when {OutboundOptions.SectionName}:{nameof(OutboundOptions.AllowedNetworks)} lists them"
            : null;
    }

    /// <summary>
    /// The handler for an outbound HTTP client: it connects only to allowed addresses, follows no
    /// redirect (a redirect could point anywhere) and uses no proxy (the proxy's address is not the target's).
    /// </summary>
    public SocketsHttpHandler CreateHandler() => new()
    {
        AllowAutoRedirect = false,
        UseProxy = false,
        ConnectCallback = ConnectAsync,
    };

    private static string? KindOf(IPAddress address)
    {
        foreach (var (network, kind) in Internal)
        {
            if (network.Contains(address))
            {
                return kind;
            }
        }

        if (Nat64.Contains(address) || SixToFour.Contains(address))
        {
            var bytes = address.GetAddressBytes();
            var embedded = new IPAddress(SixToFour.Contains(address) ? bytes.AsSpan(2, 4) : bytes.AsSpan(12, 4));
            return KindOf(embedded) is { } kind ? $"{kind} behind a NAT64 or 6to4 prefix" : null;
        }

        return null;
    }

    private async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host.Trim('[', ']');
        var addresses = await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => Refusal(a) is null).ToArray();
        if (allowed.Length == 0)
        {
            throw new OutboundRefusedException(addresses.Length == 0
                ? $"{host} resolves to no address."
                : $"{host} is refused: it resolves to {Refusal(addresses[0])}.");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}
