using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace EdgeGreen.ControlPlane.Tests.Registry;

/// <summary>The first steps of the single-node ML walkthroughs: the credit sample uploaded, the local agent online.</summary>
internal static class CreditSample
{
    /// <summary>Uploads the sample as dataset <c>credit</c> (version 1) and waits until the local agent is online; returns its bytes.</summary>
    public static async Task<byte[]> UploadAndWaitForLocalAgentAsync(HttpClient client)
    {
        var csv = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv"));
        using (var upload = await client.PostAsync("/api/v1/datasets?name=credit", new ByteArrayContent(csv)))
        {
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
        }

        await Eventually.WaitUntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>("/api/v1/agents")).EnumerateArray()
            .Any(a => a.GetProperty("status").GetString() == "online"), TimeSpan.FromSeconds(30), "the local agent is online");
        return csv;
    }
}
