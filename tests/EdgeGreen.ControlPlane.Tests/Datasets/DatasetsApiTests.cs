using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.ControlPlane.Storage;

namespace EdgeGreen.ControlPlane.Tests.Datasets;

public sealed class DatasetsApiTests : ControlPlaneTest
{
    private const string Csv = "age,city,defaulted\n31,Lisbon,0\n45,Porto,1\n";

    protected override IReadOnlyDictionary<string, string?>? Settings => new Dictionary<string, string?>
    {
        ["EdgeGreen:Datasets:SeedSample"] = "true",
        ["EdgeGreen:Datasets:MaxBytes"] = "100000",
    };

    [Fact]
    public async Task Upload_ContentAddressed_VersionedWithItsSchema_AndDownloadable()
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        await SampleRegisteredAsync(client);

        var first = await UploadAsync(client, "loans", Csv, HttpStatusCode.Created);
        Assert.Equal(1, first.GetProperty("version").GetInt32());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Csv))), first.GetProperty("sha256").GetString());
        Assert.Equal(2, first.GetProperty("rows").GetInt64());
        Assert.Equal(["age:numeric", "city:categorical", "defaulted:boolean"],
            first.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}:{c.GetProperty("type").GetString()}"));

        // The same bytes are the same version; new bytes are the next.
        var again = await UploadAsync(client, "loans", Csv, HttpStatusCode.OK);
        Assert.Equal(1, again.GetProperty("version").GetInt32());
        var second = await UploadAsync(client, "loans", Csv + "52,Faro,0\n", HttpStatusCode.Created);
        Assert.Equal(2, second.GetProperty("version").GetInt32());

        var dataset = await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets/loans");
        Assert.Equal([1, 2], dataset.GetProperty("versions").EnumerateArray().Select(v => v.GetProperty("version").GetInt32()));
        Assert.Equal(Csv, await client.GetStringAsync("/api/v1/datasets/loans/versions/1/content"));
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/datasets/loans/versions/3/content")).StatusCode);

        var all = await client.GetFromJsonAsync<JsonElement>("/api/v1/datasets");
        Assert.Equal(["loans:2", "uci-credit-card:1"], all.EnumerateArray().Select(d => $"{d.GetProperty("name").GetString()}:{d.GetProperty("version").GetInt32()}"));
    }

    [Fact]
    public async Task Upload_BadNameOrContent_Is400_AndStoresNothing()
    {
        using var client = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Operator));
        await SampleRegisteredAsync(client);

        await ProblemAsync(client, "name=..bad", Csv, "name");
        await ProblemAsync(client, "", Csv, "name");
        await ProblemAsync(client, "name=broken", "a,b\n1\n", "body");
        await ProblemAsync(client, "name=huge", "a\n" + string.Concat(Enumerable.Repeat("1\n", 60_000)), "body");

        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/datasets/broken")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync("/api/v1/datasets/huge")).StatusCode);
        var blobs = Path.Combine(ControlPlane.DataDirectory, "blobs", "sha256");
        Assert.Empty(Directory.EnumerateFiles(blobs, ".staging-*"));
        Assert.Single(Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories)); // the sample only
    }

    [Fact]
    public async Task Upload_ByAViewer_IsForbidden_AndTheSampleIsThere()
    {
        using var viewer = ControlPlane.CreateClient(await ControlPlane.MintApiKeyAsync(ApiKeyRole.Viewer));

        using var response = await viewer.PostAsync("/api/v1/datasets?name=x", new StringContent(Csv));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);

        await SampleRegisteredAsync(viewer);
        var sample = (await viewer.GetFromJsonAsync<JsonElement>("/api/v1/datasets/uci-credit-card")).GetProperty("versions")[0];
        Assert.Equal("a0f0ab49d6326671d6cd83be5c88dcf18007025fe9a53ecd699119c871176ca1", sample.GetProperty("sha256").GetString());
        Assert.Equal(30_000, sample.GetProperty("rows").GetInt64());
    }

    private static Task SampleRegisteredAsync(HttpClient client) =>
        Eventually.WaitUntilAsync(async () =>
        {
            using var response = await client.GetAsync("/api/v1/datasets/uci-credit-card");
            return response.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(20), "the sample dataset is registered after start");

    private static async Task<JsonElement> UploadAsync(HttpClient client, string name, string csv, HttpStatusCode expected)
    {
        using var response = await client.PostAsync($"/api/v1/datasets?name={name}", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(expected, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task ProblemAsync(HttpClient client, string query, string csv, string field)
    {
        using var response = await client.PostAsync($"/api/v1/datasets?{query}", new StringContent(csv, Encoding.UTF8, "text/csv"));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty(field, out _));
    }
}
