namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// A read definition, or what is wrong with it: <see cref="Definition"/> is set exactly when
/// <see cref="Status"/> is <see cref="PipelineReadStatus.Valid"/>; otherwise <see cref="Errors"/>
/// holds the problems keyed by field (<c>$</c> for the document as a whole, <c>contentType</c> for
/// an unsupported content type).
/// </summary>
public sealed record PipelineReadResult(PipelineReadStatus Status, PipelineDefinition? Definition, IReadOnlyDictionary<string, string[]> Errors);
