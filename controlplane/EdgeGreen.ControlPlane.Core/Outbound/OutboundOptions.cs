namespace EdgeGreen.ControlPlane.Core.Outbound;

/// <summary>Where calls made on a user's behalf (webhooks, notifications) may go.</summary>
public sealed class OutboundOptions
{
    public const string SectionName = "EdgeGreen:Outbound";

    /// <summary>
    /// CIDR ranges (<c>127.0.0.0/8</c>, <c>10.1.0.0/16</c>, <c>fd00::/8</c>) opened although they
    /// are loopback, link-local, private or otherwise internal; empty by default.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];
}
