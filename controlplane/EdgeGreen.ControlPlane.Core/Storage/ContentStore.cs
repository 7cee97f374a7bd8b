using System.Security.Cryptography;
using EdgeGreen.Shared;
using Microsoft.Extensions.Options;

namespace EdgeGreen.ControlPlane.Core.Storage;

/// <summary>
/// Content-addressed files (datasets, model artifacts) under <c>&lt;DataDirectory&gt;/blobs/sha256/ab/abcdef…</c>:
/// the same bytes are stored once under their SHA-256, written to a temporary file first and moved
/// into place only once complete and hashed, so a reader never sees a partial blob. Files are
/// created 0600 and directories 0700 on Unix.
/// </summary>
public sealed class ContentStore
{
    private readonly string _root;

    public ContentStore(IOptions<StorageOptions> options)
    {
        _root = Path.GetFullPath(Path.Combine(options.Value.DataDirectory, "blobs", "sha256"));
        PrivateDirectory.Create(_root);
    }

    /// <summary>A staging file in the store's volume, so that moving it in place is a rename.</summary>
    public string NewStagingPath() => Path.Combine(_root, $".staging-{Guid.NewGuid():N}");

    /// <summary>Copies the stream into a staging file, hashing as it goes; at most <paramref name="maxBytes"/>.</summary>
    public async Task<StagedContent> StageAsync(Stream content, long maxBytes, CancellationToken cancellationToken)
    {
        var path = NewStagingPath();
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            long size = 0;
            await using (var file = new FileStream(path, PrivateFile.Options(FileMode.CreateNew, FileOptions.Asynchronous)))
            {
                var buffer = new byte[81920];
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    size += read;
                    if (size > maxBytes)
                    {
                        throw new ContentTooLargeException(maxBytes);
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }

            return new StagedContent(path, Convert.ToHexStringLower(hash.GetHashAndReset()), size);
        }
        catch
        {
            File.Delete(path);
            throw;
        }
    }

    /// <summary>Moves staged content into place under its hash (a no-op when those bytes are stored already).</summary>
    public void Commit(StagedContent staged)
    {
        var target = PathOf(staged.Sha256);
        PrivateDirectory.Create(Path.GetDirectoryName(target)!);
        if (File.Exists(target))
        {
            File.Delete(staged.Path);
            return;
        }

        File.Move(staged.Path, target);
    }

    /// <summary>The file an upload of <paramref name="sha256"/> collects its bytes in until it is complete.</summary>
    public string PartialPath(string sha256) =>
        IsSha256(sha256) ? Path.Combine(_root, $".partial-{sha256}") : throw new ArgumentException("Not a lower-case hex SHA-256.", nameof(sha256));

    /// <summary>The unfinished resumable uploads (<see cref="PartialPath"/>), with their sizes and last writes.</summary>
    public IEnumerable<FileInfo> Partials() => new DirectoryInfo(_root).EnumerateFiles(".partial-*");

    /// <summary>Hashes a completed partial upload; when it matches, moves it into place and returns true, else deletes it.</summary>
    public async Task<bool> CompletePartialAsync(string sha256, CancellationToken cancellationToken)
    {
        var partial = PartialPath(sha256);
        string actual;
        await using (var file = File.OpenRead(partial))
        {
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(file, cancellationToken));
        }

        if (actual != sha256)
        {
            File.Delete(partial);
            return false;
        }

        Commit(new StagedContent(partial, sha256, new FileInfo(partial).Length));
        return true;
    }

    public bool Exists(string sha256) => IsSha256(sha256) && File.Exists(PathOf(sha256));

    /// <summary>The stored bytes, or null when the store does not hold them.</summary>
    public FileStream? OpenRead(string sha256) =>
        Exists(sha256) ? new FileStream(PathOf(sha256), FileMode.Open, FileAccess.Read, FileShare.Read, 81920, useAsync: true) : null;

    public long Length(string sha256) => new FileInfo(PathOf(sha256)).Length;

    public static bool IsSha256(string text) => text.Length == 64 && text.All(char.IsAsciiHexDigitLower);

    private string PathOf(string sha256) =>
        IsSha256(sha256) ? Path.Combine(_root, sha256[..2], sha256) : throw new ArgumentException("Not a lower-case hex SHA-256.", nameof(sha256));
}

/// <summary>Bytes written to a staging file and their hash, not yet in the store.</summary>
public sealed record StagedContent(string Path, string Sha256, long SizeBytes) : IDisposable
{
    /// <summary>Removes the staging file if it was not committed.</summary>
    public void Dispose() => File.Delete(Path);
}

public sealed class ContentTooLargeException(long maxBytes) : Exception($"The content is larger than {maxBytes} bytes.")
{
    public long MaxBytes { get; } = maxBytes;
}
