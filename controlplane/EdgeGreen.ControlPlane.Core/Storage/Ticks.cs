namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>Instants are stored as UTC ticks in every store, so no database's date handling can shift them.</summary>
public static class Ticks
{
    public static DateTimeOffset ToInstant(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
