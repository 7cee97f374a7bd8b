namespace EdgeGreen.ControlPlane.Tests;

/// <summary>A fact about Unix behaviour (file modes): skipped on Windows, which has none.</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class UnixFactAttribute : FactAttribute
{
    public UnixFactAttribute()
    {
        if (OperatingSystem.IsWindows())
        {
            Skip = "Unix file modes do not exist on Windows.";
        }
    }
}
