namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>What an <see cref="ExpressionValue"/> holds.</summary>
public enum ExpressionValueKind
{
    Null,
    Boolean,
    Number,
    String,
}
