namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>Problems with a definition, keyed by the field they are about (<c>steps[2].dependsOn</c>), in the order found.</summary>
internal sealed class PipelineErrors
{
    private readonly Dictionary<string, List<string>> _errors = new(StringComparer.Ordinal);

    public int Count => _errors.Count;

    public void Add(string key, string message)
    {
        if (!_errors.TryGetValue(key, out var messages))
        {
            _errors[key] = messages = [];
        }

        messages.Add(message);
    }

    public bool Contains(string key) => _errors.ContainsKey(key);

    /// <summary>Adds what <paramref name="other"/> found about the fields this has nothing on, so one mistake is not reported twice.</summary>
    public void AddNew(Dictionary<string, string[]> other)
    {
        foreach (var (key, messages) in other)
        {
            if (!_errors.ContainsKey(key))
            {
                _errors[key] = [.. messages];
            }
        }
    }

    public Dictionary<string, string[]> ToDictionary() => _errors.ToDictionary(e => e.Key, e => e.Value.ToArray(), StringComparer.Ordinal);
}
