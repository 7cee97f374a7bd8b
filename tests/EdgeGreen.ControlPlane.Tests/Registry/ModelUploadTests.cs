using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests.Registry;

/// <summary>Registering ONNX models EdgeGreen did not train (tests/fixtures/models, with their notice).</summary>
public sealed class ModelUploadTests : ControlPlaneTest
{
    private static string Fixture(string file) => Path.Combine(AppContext.BaseDirectory, "fixtures", "models", file);

    [Theory]
    [InlineData("mnist-8.onnx", "Input3", "Plus214_Output_0")]
    [InlineData("ImageClassifier-cifar10.onnx", "modelInput", "modelOutput")]
    [InlineData("ultraface-RFB-320.onnx", "input", "scores")]
    public async Task Upload_AnOnnxFile_IsTheNextReadyVersionWithItsSchema(string file, string input, string output)
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        var bytes = await File.ReadAllBytesAsync(Fixture(file));

        var first = await UploadAsync(client, "vision", bytes, HttpStatusCode.Created);
        var second = await UploadAsync(client, "vision", bytes, HttpStatusCode.Created);

        Assert.Equal((1, 2), (first.GetProperty("version").GetInt32(), second.GetProperty("version").GetInt32()));
        Assert.Equal("READY", first.GetProperty("status").GetString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), first.GetProperty("sha256").GetString());
        Assert.Equal(input, first.GetProperty("inputs")[0].GetProperty("name").GetString());
        Assert.Equal("Single", first.GetProperty("inputs")[0].GetProperty("elementType").GetString());
        Assert.Equal(output, first.GetProperty("outputs")[0].GetProperty("name").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("lineage").GetProperty("jobId").ValueKind);
        Assert.Equal(bytes, await client.GetByteArrayAsync("/api/v1/models/vision/versions/2/artifact"));
    }

    [Fact]
    public async Task Upload_NotOnnxOrBadName_Is400_AndRegistersNothing()
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));

        await UploadAsync(client, "broken", "this is not a model"u8.ToArray(), HttpStatusCode.BadRequest);
        await UploadAsync(client, "bad name", await File.ReadAllBytesAsync(Fixture("mnist-8.onnx")), HttpStatusCode.BadRequest);

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/models/broken")).StatusCode);
        Assert.Empty((await client.GetFromJsonAsync<JsonElement>("/api/v1/models")).EnumerateArray());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(ControlPlane.DataDirectory, "blobs", "sha256"), "*", SearchOption.AllDirectories));
    }

    private static async Task<JsonElement> UploadAsync(HttpClient client, string name, byte[] bytes, HttpStatusCode expected)
    {
        using var response = await client.PostAsync($"/api/v1/models/{Uri.EscapeDataString(name)}/versions", new ByteArrayContent(bytes));
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}
