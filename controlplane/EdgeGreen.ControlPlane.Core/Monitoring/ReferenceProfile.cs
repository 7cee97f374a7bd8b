namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>One monitored input or output: its bins, fixed from the reference, and the reference's own histogram over them.</summary>
public sealed record MonitoredFeature(string Name, FeatureBinning Binning, FeatureHistogram Reference);

/// <summary>
/// What a model version's served traffic is compared with: its training dataset version (its
/// lineage), binned per input the model takes, and the model's own outputs over that data.
/// </summary>
public sealed record ReferenceProfile(
    string Model,
    int Version,
    string Dataset,
    int? DatasetVersion,
    long Rows,
    IReadOnlyList<MonitoredFeature> Inputs,
    IReadOnlyList<MonitoredFeature> Outputs)
{
    public MonitoredFeature? Input(string name) => Inputs.FirstOrDefault(f => f.Name == name);

    public MonitoredFeature? Output(string name) => Outputs.FirstOrDefault(f => f.Name == name);
}
