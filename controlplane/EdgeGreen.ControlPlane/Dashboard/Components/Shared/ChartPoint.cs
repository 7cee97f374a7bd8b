namespace EdgeGreen.ControlPlane.Dashboard.Components.Shared;

/// <summary>A point of a time chart, its time already in the browser's zone.</summary>
public sealed record ChartPoint(DateTime Time, double Value);
