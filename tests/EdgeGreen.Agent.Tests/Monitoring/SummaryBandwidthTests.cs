using System.Globalization;
using System.Text;
using EdgeGreen.Contracts.V1;
using Google.Protobuf;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;
using static EdgeGreen.Agent.Tests.Monitoring.Profiles;

namespace EdgeGreen.Agent.Tests.Monitoring;

/// <summary>
/// What summarising at the edge saves on the wire: the bytes of the summary of 1,000 inferences
/// against the bytes of the 1,000 Open Inference Protocol JSON requests it summarises, for the
/// credit dataset's shape (23 FP32 inputs of shape [1, 1], one probability out, 10 bins each).
/// Run with <c>--logger "console;verbosity=detailed"</c> to see the figures.
/// </summary>
public sealed class SummaryBandwidthTests(ITestOutputHelper output)
{
    private const int Requests = 1_000;

    [Fact]
    public void Summary_ThousandCreditRequests_IsAFractionOfTheirRawJson()
    {
        var (columns, rows) = CreditRows();
        var raw = rows.Select((row, i) => Encoding.UTF8.GetByteCount(Json($"request-{i:D6}", columns, row))).Sum();

        var histograms = Measure(columns, rows, sampleSize: 0, logPredictions: false);
        var withPredictions = Measure(columns, rows, sampleSize: 0, logPredictions: true);
        var withSample = Measure(columns, rows, sampleSize: 100, logPredictions: true);

        output.WriteLine($"Raw JSON requests: {raw} bytes per {Requests} inferences");
        output.WriteLine($"Summary, histograms and moments only: {histograms} bytes ({100.0 * histograms / raw:F2} % of raw)");
        output.WriteLine($"Summary with the prediction log: {withPredictions} bytes ({100.0 * withPredictions / raw:F2} % of raw)");
        output.WriteLine($"Summary with the prediction log and a 100-request sample: {withSample} bytes ({100.0 * withSample / raw:F2} % of raw)");

        // The histograms do not grow with traffic; the log and the sample grow with ids and rows kept.
        Assert.InRange(histograms, 1, raw / 50);
        Assert.InRange(withSample, withPredictions + 1, raw / 3);
    }

    /// <summary>Bytes of the one summary of <see cref="Requests"/> requests from the rows, monitored with 10 bins a feature.</summary>
    private static int Measure(IReadOnlyList<string> columns, IReadOnlyList<float[]> rows, int sampleSize, bool logPredictions)
    {
        var bins = columns.Select((name, c) => Deciles(name, rows.Select(r => r[c]))).ToList();
        var profile = Profile(TimeSpan.FromHours(1), bins, [Numeric("Probability", [.. Enumerable.Range(0, 11).Select(i => i / 10.0)])],
            sampleRate: sampleSize > 0 ? 1 : 0, sampleSize: sampleSize, logPredictions: logPredictions);
        var time = new FakeTimeProvider(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var monitor = Monitor(profile, time);
        for (var i = 0; i < rows.Count; i++)
        {
            var probability = (float)(0.05 + (0.9 * ((i * 37) % 100) / 100.0));
            monitor.Record($"request-{i:D6}", 1, [.. columns.Select((name, c) => (name, (Array)new[] { rows[i][c] }))],
                [Output("Probability", [1, 1], probability)]);
        }

        var summary = Assert.Single(monitor.Collect(time.GetUtcNow() + TimeSpan.FromHours(1)));
        Assert.Equal((ulong)rows.Count, summary.Inferences);
        return new ReportInferenceRequest { Summaries = { summary } }.CalculateSize();
    }

    /// <summary>Ten bins between the deciles of the values, as a control plane would choose them from training data.</summary>
    private static FeatureBins Deciles(string name, IEnumerable<float> values)
    {
        var sorted = values.Select(v => (double)v).Order().ToArray();
        var edges = Enumerable.Range(0, 11).Select(i => sorted[Math.Min(sorted.Length - 1, i * (sorted.Length - 1) / 10)]).Distinct().ToList();
        if (edges.Count < 2)
        {
            edges.Add(edges[0] + 1);
        }

        return Numeric(name, [.. edges]);
    }

    private static string Json(string id, IReadOnlyList<string> columns, float[] row)
    {
        var json = new StringBuilder($"{{\"id\":\"{id}\",\"inputs\":[");
        for (var c = 0; c < columns.Count; c++)
        {
            json.Append(CultureInfo.InvariantCulture, $"{(c > 0 ? "," : "")}{{\"name\":\"{columns[c]}\",\"shape\":[1,1],\"datatype\":\"FP32\",\"data\":[{row[c]}]}}");
        }

        return json.Append("]}").ToString();
    }

    /// <summary>The 23 features (every column but the id and the label) of the first 1,000 rows of the credit dataset.</summary>
    private static (IReadOnlyList<string> Columns, IReadOnlyList<float[]> Rows) CreditRows()
    {
        var lines = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "fixtures", "ml", "UCI_Credit_Card.csv")).Take(Requests + 1).ToList();
        var header = lines[0].Split(',').Select(h => h.Trim('"')).ToArray();
        var columns = header[1..^1];
        var rows = lines.Skip(1).Select(line => line.Split(',')[1..^1].Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToList();
        Assert.Equal((23, Requests), (columns.Length, rows.Count));
        return (columns, rows);
    }
}
