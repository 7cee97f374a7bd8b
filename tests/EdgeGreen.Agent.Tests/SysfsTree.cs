using System.Globalization;

namespace EdgeGreen.Agent.Tests;

/// <summary>A temporary sysfs- or procfs-like tree whose files the tests write between samples.</summary>
public sealed class SysfsTree : IDisposable
{
    public string Root { get; } = Directory.CreateTempSubdirectory("edgegreen-tree-").FullName;

    public void Write(string relativePath, string text)
    {
        var path = Path.Combine(Root, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text + "\n");
    }

    public void Write(string relativePath, double value) => Write(relativePath, value.ToString("0", CultureInfo.InvariantCulture));

    public double Read(string relativePath) =>
        double.Parse(File.ReadAllText(Path.Combine(Root, relativePath)).Trim(), CultureInfo.InvariantCulture);

    public void Delete(string relativePath) => File.Delete(Path.Combine(Root, relativePath));

    /// <summary>A directory in place of a file reads as access denied, also for root (whom file modes do not stop).</summary>
    public void MakeUnreadable(string relativePath)
    {
        Delete(relativePath);
        Directory.CreateDirectory(Path.Combine(Root, relativePath));
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
