using EdgeGreen.Shared.Datasets;
using EdgeGreen.ControlPlane.Core.Datasets;
using EdgeGreen.ControlPlane.Datasets;

namespace EdgeGreen.ControlPlane.Tests.Datasets;

public sealed class DatasetSchemaTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public void Infer_NumericBooleanAndCategorical_QuotedFieldsAndMissingValues()
    {
        var (columns, rows) = Infer("\"id\",\"income\",\"city\",\"defaulted\",\"student\"\n1,1200.5,\"Lisbon, PT\",0,yes\n2,,Porto,1,no\n3,-3e2,\"\"\"Quoted\"\"\",1,YES\n");

        Assert.Equal(3, rows);
        Assert.Equal(
            [new("id", "numeric"), new("income", "numeric"), new("city", "categorical"), new("defaulted", "boolean"), new("student", "boolean")],
            columns);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("a,b\n", "no rows")]
    [InlineData("a,b\n1,2\n3\n", "Row 2 has 1 fields; the header has 2")]
    [InlineData("a,a\n1,2\n", "unique: a")]
    [InlineData("a,\n1,2\n", "name its column")]
    [InlineData("a,b\n1,\"2\n", "not valid CSV")]
    public void Infer_BadCsv_SaysWhatIsWrong(string csv, string problem) =>
        Assert.Contains(problem, Assert.Throws<InvalidDataException>(() => Infer(csv)).Message);

    [Fact]
    public void Infer_TheSampleDataset_HasItsDocumentedShape()
    {
        var (columns, rows) = DatasetSchema.Infer(Path.Combine(AppContext.BaseDirectory, "Datasets", "Sample", "UCI_Credit_Card.csv"));

        Assert.Equal(30_000, rows);
        Assert.Equal(25, columns.Count);
        Assert.Equal(new DatasetColumn("default.payment.next.month", "boolean"), columns[^1]);
        Assert.Equal(new DatasetColumn("LIMIT_BAL", "numeric"), columns[1]);
    }

    public void Dispose() => _temp.Dispose();

    private (IReadOnlyList<DatasetColumn> Columns, long Rows) Infer(string csv)
    {
        var path = Path.Combine(_temp.Path, "data.csv");
        File.WriteAllText(path, csv);
        return DatasetSchema.Infer(path);
    }
}
