namespace EdgeGreen.Contracts;

/// <summary>
/// How energy domains add up to a node. Component domains (<c>cpu.package</c>, <c>dram</c>,
/// <c>gpu0</c>, <c>hwmon.*</c>) are parts of the node and are summed. Whole-node domains
/// (<c>platform</c> from RAPL psys, <c>platform.*</c> from a battery or a board's input rail)
/// already contain the components: where one is reported, the node total is the whole-node
/// domains alone, so nothing is counted twice.
/// </summary>
public static class EnergyDomains
{
    public const string Platform = "platform";

    public static bool IsWholeNode(string domain) =>
        domain == Platform || domain.StartsWith(Platform + ".", StringComparison.Ordinal);

    /// <summary>The node's total from per-domain values (energy or power).</summary>
    public static double NodeTotal<T>(IEnumerable<T> items, Func<T, string> domain, Func<T, double> value)
    {
        double wholeNode = 0, components = 0;
        var anyWholeNode = false;
        foreach (var item in items)
        {
            if (IsWholeNode(domain(item)))
            {
                wholeNode += value(item);
                anyWholeNode = true;
            }
            else
            {
                components += value(item);
            }
        }

        return anyWholeNode ? wholeNode : components;
    }
}
