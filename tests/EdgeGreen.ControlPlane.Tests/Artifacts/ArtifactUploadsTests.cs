using EdgeGreen.ControlPlane.Artifacts;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Prometheus;

namespace EdgeGreen.ControlPlane.Tests.Artifacts;

/// <summary>Unfinished uploads: one at a time per artifact, a quota over all of them, and expiry on the clock.</summary>
public sealed class ArtifactUploadsTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly ContentStore _content;
    private readonly ArtifactUploads _uploads;

    public ArtifactUploadsTests()
    {
        _content = new ContentStore(Options.Create(new StorageOptions { DataDirectory = _temp.Path }));
        _uploads = new ArtifactUploads(_content, Options.Create(new ArtifactOptions { MaxUnfinishedUploadBytes = 1000, UnfinishedUploadLifetime = TimeSpan.FromDays(1) }),
            _clock, Metrics.WithCustomRegistry(Metrics.NewCustomRegistry()), NullLogger<ArtifactUploads>.Instance);
    }

    public void Dispose()
    {
        _uploads.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public void Begin_PastTheQuotaOfAllUnfinishedUploads_IsRefused_ButItsOwnBytesDoNotCountTwice()
    {
        File.WriteAllBytes(_content.PartialPath(Sha('a')), new byte[600]);

        var refused = Assert.Throws<UploadRefusedException>(() => _uploads.Begin(Sha('b'), 500));
        Assert.True(refused.Quota);
        using (_uploads.Begin(Sha('b'), 400))
        {
            var busy = Assert.Throws<UploadRefusedException>(() => _uploads.Begin(Sha('b'), 400));
            Assert.False(busy.Quota);
        }

        // Resuming its own upload of 1,000 bytes: the 600 it holds are part of the 1,000.
        using (_uploads.Begin(Sha('a'), 1000))
        {
        }
    }

    [Fact]
    public void Sweep_DeletesUploadsIdleLongerThanTheirLifetime_ExceptOneInProgress()
    {
        foreach (var c in "abc")
        {
            File.WriteAllBytes(_content.PartialPath(Sha(c)), new byte[10]);
        }

        Assert.Equal(0, _uploads.Sweep());
        _clock.Advance(TimeSpan.FromHours(23));
        Assert.Equal(0, _uploads.Sweep());

        _clock.Advance(TimeSpan.FromHours(2));
        using (_uploads.Begin(Sha('c'), 10))
        {
            Assert.Equal(2, _uploads.Sweep());
        }

        Assert.Equal([".partial-" + Sha('c')], _content.Partials().Select(f => f.Name));
    }

    private static string Sha(char c) => new(c, 64);
}
