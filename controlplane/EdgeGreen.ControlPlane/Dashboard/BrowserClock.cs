namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>
/// The browser's time zone, which <c>ui/dashboard.js</c> keeps in a cookie so that even the first,
/// prerendered HTML shows times as the reader's clock does. UTC until the cookie is there or when
/// it names a zone this machine does not know.
/// </summary>
public sealed record BrowserClock(TimeZoneInfo Zone)
{
    public const string CookieName = "EdgeGreen.TimeZone";

    public static BrowserClock Utc { get; } = new(TimeZoneInfo.Utc);

    public static BrowserClock FromCookie(string? value) =>
        !string.IsNullOrEmpty(value) && value.Length <= 64 && TimeZoneInfo.TryFindSystemTimeZoneById(value, out var zone) ? new BrowserClock(zone) : Utc;

    public DateTime Local(DateTimeOffset instant) => TimeZoneInfo.ConvertTime(instant, Zone).DateTime;

    /// <summary>"CET", "UTC": the zone's short label for axis titles.</summary>
    public string Label => Zone == TimeZoneInfo.Utc ? "UTC" : Zone.Id;
}
