using System.Text;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>Where a reader is in a document, as an error key: <c>steps[1].parameters.model</c>; <c>$</c> at the root.</summary>
internal sealed class NodePath
{
    private readonly List<object> _segments = [];

    public void Push(string name) => _segments.Add(name);

    public void Push(int index) => _segments.Add(index);

    public void Pop() => _segments.RemoveAt(_segments.Count - 1);

    public override string ToString()
    {
        if (_segments.Count == 0)
        {
            return "$";
        }

        var key = new StringBuilder();
        foreach (var segment in _segments)
        {
            if (segment is int index)
            {
                key.Append('[').Append(index).Append(']');
            }
            else
            {
                key.Append(key.Length > 0 ? "." : "").Append((string)segment);
            }
        }

        return key.ToString();
    }
}
