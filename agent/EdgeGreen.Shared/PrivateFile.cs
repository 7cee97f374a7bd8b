namespace EdgeGreen.Shared;

/// <summary>Files that hold secrets: created readable and writable by the owner only (0600).</summary>
public static class PrivateFile
{
    /// <summary>Writes <paramref name="contents"/> to a temporary file with mode 0600 and moves it into place.</summary>
    public static async Task WriteAsync(string path, Func<Stream, Task> contents)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var temporary = path + ".tmp";
        await using (var stream = new FileStream(temporary, options))
        {
            await contents(stream);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
