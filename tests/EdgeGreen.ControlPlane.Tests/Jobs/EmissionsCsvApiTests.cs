using System.Net;
using EdgeGreen.ControlPlane.Core.Jobs;
using EdgeGreen.ControlPlane.Core.Storage;

namespace EdgeGreen.ControlPlane.Tests.Jobs;

/// <summary>The emissions.csv routes' <c>layout</c> parameter, over HTTP.</summary>
public sealed class EmissionsCsvApiTests : ControlPlaneTest
{
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await ControlPlane.Service<IJobStore>().AddAsync(EmissionsCsvTests.Job("nightly-train", zone: "ES"), CancellationToken.None);
    }

    [Theory]
    [InlineData("/api/v1/jobs/job-1/emissions.csv")]
    [InlineData("/api/v1/emissions.csv?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z")]
    public async Task EmissionsCsv_WithoutLayout_HasCodeCarbon3Header(string path)
    {
        var lines = (await AdminClient.GetStringAsync(new Uri(path, UriKind.Relative))).TrimEnd('\n').Split('\n');

        Assert.Equal(string.Join(',', EmissionsCsv.Columns), lines[0]);
        Assert.Equal(EmissionsCsv.Columns.Length, lines[1].Split(',').Length);
    }

    [Theory]
    [InlineData("/api/v1/jobs/job-1/emissions.csv?layout=codecarbon2")]
    [InlineData("/api/v1/emissions.csv?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&layout=codecarbon2")]
    public async Task EmissionsCsv_CodeCarbon2Layout_HasTheOldHeader(string path)
    {
        var lines = (await AdminClient.GetStringAsync(new Uri(path, UriKind.Relative))).TrimEnd('\n').Split('\n');

        Assert.Equal(EmissionsCsvTests.CodeCarbon2Header, lines[0]);
        Assert.StartsWith("2026-03-01T12:00:00,nightly-train,job-1,3600,", lines[1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmissionsCsv_UnknownLayout_Returns400NamingTheParameter()
    {
        using var response = await AdminClient.GetAsync(new Uri("/api/v1/jobs/job-1/emissions.csv?layout=codecarbon1", UriKind.Relative));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("\"layout\"", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
