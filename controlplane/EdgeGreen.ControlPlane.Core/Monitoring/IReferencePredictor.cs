namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>
/// Runs a model version over its reference rows, so that served predictions can be compared with
/// what the model predicted on its own training data (prediction drift). The host implements it
/// with the ONNX runtime the agents use.
/// </summary>
public interface IReferencePredictor
{
    /// <summary>
    /// The first-row value of <paramref name="output"/> for each row (the last column of a
    /// two-dimensional output, as agents log it: a binary classifier's positive class), given the
    /// model's inputs by name, one value per row each.
    /// </summary>
    Task<IReadOnlyList<double>> PredictAsync(string modelSha256, IReadOnlyDictionary<string, double[]> inputs, string output, CancellationToken cancellationToken);
}
