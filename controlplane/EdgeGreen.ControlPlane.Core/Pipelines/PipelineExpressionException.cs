namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// An expression that parsed but cannot be evaluated with the values it met (ordering a null,
/// <c>&amp;&amp;</c> on a string, a <c>when</c> that is not a boolean). The message says which
/// part and which values; a run reports it as the step's failure reason.
/// </summary>
public sealed class PipelineExpressionException : Exception
{
    public PipelineExpressionException()
    {
    }

    public PipelineExpressionException(string message)
        : base(message)
    {
    }

    public PipelineExpressionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
