using System.Net;
using System.Net.Http.Json;
using System.Runtime.Versioning;

namespace EdgeGreen.ControlPlane.Tests.Storage;

/// <summary>The data directory is the owner's alone: directories 0700, files 0600.</summary>
[UnsupportedOSPlatform("windows")]
public sealed class DataDirectoryModeTests : IDisposable
{
    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectoryMode = PrivateFileMode | UnixFileMode.UserExecute;

    private readonly TempDirectory _temp = new();

    [UnixFact]
    public async Task Start_FreshDataDirectory_EveryDirectoryIs0700AndEveryFile0600()
    {
        var data = _temp.Sub("data");
        await using (var controlPlane = await StartAsync(data))
        {
            using var admin = controlPlane.CreateClient(File.ReadAllText(Path.Combine(data, "admin.key")).Trim());
            var onnx = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "fixtures", "models", "mnist-8.onnx"));
            using var upload = await admin.PostAsync(new Uri("/api/v1/models/digits/versions", UriKind.Relative), new ByteArrayContent(onnx));
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
            // Its secret is encrypted under a key ring that the control plane writes into keys/; no event it takes is raised here.
            using var webhook = await admin.PostAsync(new Uri("/api/v1/webhooks", UriKind.Relative),
                JsonContent.Create(new { url = "https://hooks.example.com/h", events = new[] { "alias.moved" } }));
            Assert.Equal(HttpStatusCode.Created, webhook.StatusCode);

            AssertPrivate(data);
            Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data, "blobs"), "*", SearchOption.AllDirectories));
            Assert.NotEmpty(Directory.EnumerateFiles(Path.Combine(data, "keys"), "*.xml"));
        }

        AssertPrivate(data);
    }

    [UnixFact]
    public async Task Start_DatabaseWrittenWorldReadable_IsMadePrivate()
    {
        var data = _temp.Sub("data");
        await (await StartAsync(data)).DisposeAsync();
        var database = Path.Combine(data, "edgegreen.db");
        File.SetUnixFileMode(database, PrivateFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        await using var controlPlane = await StartAsync(data);

        Assert.Equal(PrivateFileMode, File.GetUnixFileMode(database));
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>The data directory is created by the control plane here, not by the test host.</summary>
    private Task<TestControlPlane> StartAsync(string data) =>
        TestControlPlane.StartAsync(_temp.Path, settings: new Dictionary<string, string?> { ["EdgeGreen:Storage:DataDirectory"] = data });

    private static void AssertPrivate(string data)
    {
        Assert.Equal(PrivateDirectoryMode, File.GetUnixFileMode(data));
        foreach (var directory in Directory.EnumerateDirectories(data, "*", SearchOption.AllDirectories))
        {
            Assert.Equal((directory, PrivateDirectoryMode), (directory, File.GetUnixFileMode(directory)));
        }

        foreach (var file in Directory.EnumerateFiles(data, "*", SearchOption.AllDirectories))
        {
            Assert.Equal((file, PrivateFileMode), (file, File.GetUnixFileMode(file)));
        }
    }
}
