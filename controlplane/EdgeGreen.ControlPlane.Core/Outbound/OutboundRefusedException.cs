namespace EdgeGreen.ControlPlane.Core.Outbound;

/// <summary>A call on a user's behalf was not made: its target is an internal address that is not allowed.</summary>
public sealed class OutboundRefusedException(string message) : Exception(message);
