using EdgeGreen.Agent.Jobs;

namespace EdgeGreen.Agent.Tests.Jobs;

/// <summary>The one model file, whatever hash is asked for (the transfer itself is tested against the control plane).</summary>
internal sealed class OneFileArtifacts(string path) : IArtifacts
{
    public Task DownloadAsync(string sha256, string target, CancellationToken cancellationToken)
    {
        File.Copy(path, target, overwrite: true);
        return Task.CompletedTask;
    }

    public Task<(string Sha256, long Size)> UploadAsync(string file, CancellationToken cancellationToken) => throw new NotSupportedException();
}
