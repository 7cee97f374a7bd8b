namespace EdgeGreen.ControlPlane.Dashboard;

/// <summary>
/// Line colours for charts whose legend the page draws itself: Radzen's legend items are buttons,
/// which inside a chart marked <c>role="img"</c> are nested interactive controls (an axe violation).
/// Each has at least 3:1 contrast on white and on the dark theme's background, and every legend
/// names its series in words too.
/// </summary>
public static class SeriesColours
{
    private static readonly string[] Palette = ["#1e88e5", "#e53935", "#43a047", "#8e24aa", "#fb8c00", "#00897b", "#6d4c41", "#d81b60"];

    public static string At(int index) => Palette[index % Palette.Length];
}
