namespace EdgeGreen.Shared;

/// <summary>Files that hold secrets or private data: created readable and writable by the owner only (0600).</summary>
public static class PrivateFile
{
    public const UnixFileMode Mode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Writes <paramref name="contents"/> to a temporary file with mode 0600 and moves it into place.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> contents)
    {
        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, Options(FileMode.Create)))
        {
            await contents(stream);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>Options that open a file for writing and, where it is created, create it with mode 0600.</summary>
    public static FileStreamOptions Options(FileMode mode, FileOptions options = FileOptions.None)
    {
        var stream = new FileStreamOptions { Mode = mode, Access = FileAccess.Write, Share = FileShare.None, Options = options, BufferSize = 81920 };
        if (!OperatingSystem.IsWindows())
        {
            stream.UnixCreateMode = Mode;
        }

        return stream;
    }

    /// <summary>
    /// Makes an embedded (LiteDB) database private before the engine opens it, with its write-ahead
    /// log (<c>name-log.db</c>), which the engine deletes at each clean close and creates again with
    /// the process's umask.
    /// </summary>
    public static void RestrictDatabase(string path)
    {
        Restrict(path);
        Restrict(Path.Combine(Path.GetDirectoryName(path) ?? "", Path.GetFileNameWithoutExtension(path) + "-log" + Path.GetExtension(path)));
    }

    /// <summary>
    /// Makes <paramref name="path"/> private before another library writes it: creates it empty
    /// with mode 0600 when it is missing, else takes group and other access away (files written
    /// by earlier versions).
    /// </summary>
    public static void Restrict(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        if (!File.Exists(path))
        {
            new FileStream(path, Options(FileMode.CreateNew)).Dispose();
        }
        else if ((File.GetUnixFileMode(path) & ~Mode) != 0)
        {
            File.SetUnixFileMode(path, Mode);
        }
    }
}
