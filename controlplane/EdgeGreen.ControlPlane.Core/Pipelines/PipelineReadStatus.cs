namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>How reading a submitted definition ended.</summary>
public enum PipelineReadStatus
{
    /// <summary>The definition is valid.</summary>
    Valid,

    /// <summary>The body is not a valid definition; the errors say why (a 400).</summary>
    Invalid,

    /// <summary>The body is neither JSON nor YAML by its content type (a 415).</summary>
    UnsupportedContentType,
}
