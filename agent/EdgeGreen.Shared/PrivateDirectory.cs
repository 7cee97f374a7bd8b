namespace EdgeGreen.Shared;

/// <summary>Directories that hold secrets or private data: created for the owner only (0700).</summary>
public static class PrivateDirectory
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>
    /// Creates <paramref name="path"/> and any missing parent with mode 0700. A directory that
    /// exists already keeps its mode: it may be shared, or set up by a service manager
    /// (systemd's <c>StateDirectoryMode</c>); what is created in it is private anyway.
    /// </summary>
    public static DirectoryInfo Create(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(path);
        }

        // Directory.CreateDirectory gives the mode to the last directory only; its missing parents
        // would get the umask's.
        var full = Path.GetFullPath(path);
        var parent = Path.GetDirectoryName(full);
        if (parent is not null && !Directory.Exists(parent))
        {
            Create(parent);
        }

        return Directory.CreateDirectory(full, Mode);
    }
}
