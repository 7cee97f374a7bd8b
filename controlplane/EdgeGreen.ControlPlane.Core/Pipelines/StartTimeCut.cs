namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Chooses one start per step to minimise the sum of each step's cost of its start, subject to
/// "B starts at least lag slots after A starts" for given pairs: exactly, as a minimum cut
/// (Möhring, Schulz, Stork and Uetz, "Solving project scheduling problems by minimum cut
/// computations", Management Science 49(3), 2003).
/// <para>
/// Each step is a chain of nodes, one per possible start and one past the last; node k on the
/// source side of the cut means "starts at first + k or later". The arc from node k to k + 1
/// costs starting at first + k, and an infinite arc back keeps the source side a prefix, so
/// every finite cut crosses each chain exactly once: a start. "B starts at least lag after A"
/// becomes an infinite arc from A's node for t to B's node for t + lag. The least source side
/// (what the source still reaches after a maximum flow) gives each step its earliest optimal
/// start, so ties go to the earlier slot.
/// </para>
/// Costs are shifted per step to start at 0 and scaled to integers of up to 2^40 (the plan is
/// optimal up to a part in 10^12 of the widest cost range); the flow is Dinic's, with an
/// iterative search so that long chains cannot overflow the stack.
/// </summary>
internal static class StartTimeCut
{
    private const long Infinite = long.MaxValue / 4;
    private const double ScaledRange = 1L << 40;
    private const int Source = 0;
    private const int Sink = 1;

    /// <param name="first">Each step's earliest start.</param>
    /// <param name="costs">Each step's cost of starting at first + k, for every allowed k (at least one).</param>
    /// <param name="arcs">Step To starts at least Lag slots after step From starts.</param>
    /// <returns>Each step's chosen start, or null when the arcs leave no choice that fits the allowed starts.</returns>
    public static int[]? Solve(IReadOnlyList<int> first, IReadOnlyList<double[]> costs, IReadOnlyList<(int From, int To, int Lag)> arcs)
    {
        var steps = costs.Count;
        var firstNode = new int[steps];
        var nodes = 2;
        var widestRange = 0.0;
        for (var i = 0; i < steps; i++)
        {
            firstNode[i] = nodes;
            nodes += costs[i].Length + 1;
            widestRange = Math.Max(widestRange, costs[i].Max() - costs[i].Min());
        }

        var scale = widestRange > 0 ? ScaledRange / widestRange : 0;
        var graph = new FlowGraph(nodes, nodes + arcs.Sum(a => costs[a.From].Length));
        for (var i = 0; i < steps; i++)
        {
            var (cost, node) = (costs[i], firstNode[i]);
            var least = cost.Min();
            graph.Add(Source, node, Infinite, 0);
            for (var k = 0; k < cost.Length; k++)
            {
                graph.Add(node + k, node + k + 1, (long)Math.Round((cost[k] - least) * scale), Infinite);
            }

            graph.Add(node + cost.Length, Sink, Infinite, 0);
        }

        foreach (var (from, to, lag) in arcs)
        {
            for (var k = 0; k < costs[from].Length; k++)
            {
                // "From starts at first[from] + k or later" forces "To starts at that + lag or later";
                // past To's last start, the arc reaches the node tied to the sink and rules k out.
                var target = first[from] + k + lag - first[to];
                if (target > 0)
                {
                    graph.Add(firstNode[from] + k, firstNode[to] + Math.Min(target, costs[to].Length), Infinite, 0);
                }
            }
        }

        if (!graph.MaximumFlow(Source, Sink))
        {
            return null;
        }

        var reached = graph.ReachableFrom(Source);
        var starts = new int[steps];
        for (var i = 0; i < steps; i++)
        {
            var k = 0;
            while (k + 1 < costs[i].Length && reached[firstNode[i] + k + 1])
            {
                k++;
            }

            starts[i] = first[i] + k;
        }

        return starts;
    }

    /// <summary>
    /// A residual graph. Edges are added in pairs (an edge and its reverse), then laid out by their
    /// tail node (compressed rows), each knowing where its reverse lies, so that a scan over a
    /// node's edges reads consecutive memory.
    /// </summary>
    private sealed class FlowGraph(int nodes, int pairs)
    {
        private readonly List<(int From, int To, long Capacity)> _added = new(2 * pairs);
        private int[] _rowStart = [];
        private int[] _to = [];
        private int[] _reverse = [];
        private long[] _residual = [];

        public void Add(int from, int to, long capacity, long reverseCapacity)
        {
            _added.Add((from, to, capacity));
            _added.Add((to, from, reverseCapacity));
        }

        /// <summary>Pushes a maximum flow; false when it is unbounded (no finite cut: the constraints cannot all hold).</summary>
        public bool MaximumFlow(int source, int sink)
        {
            Compress();
            var level = new int[nodes];
            var next = new int[nodes];
            var path = new int[nodes];
            var tails = new int[nodes];
            var queue = new int[nodes];
            while (Levels(source, sink, level, queue))
            {
                Array.Copy(_rowStart, next, nodes);
                while (Augment(source, sink, level, next, path, tails) is var pushed && pushed > 0)
                {
                    // Only a path of infinite arcs carries this much: no finite cut exists.
                    if (pushed >= Infinite / 2)
                    {
                        return false;
                    }
                }
            }

            return true;
        }

        public bool[] ReachableFrom(int source)
        {
            var reached = new bool[nodes];
            var stack = new Stack<int>();
            reached[source] = true;
            stack.Push(source);
            while (stack.TryPop(out var node))
            {
                for (var edge = _rowStart[node]; edge < _rowStart[node + 1]; edge++)
                {
                    if (_residual[edge] > 0 && !reached[_to[edge]])
                    {
                        reached[_to[edge]] = true;
                        stack.Push(_to[edge]);
                    }
                }
            }

            return reached;
        }

        private void Compress()
        {
            _rowStart = new int[nodes + 1];
            foreach (var (from, _, _) in _added)
            {
                _rowStart[from + 1]++;
            }

            for (var node = 0; node < nodes; node++)
            {
                _rowStart[node + 1] += _rowStart[node];
            }

            var fill = (int[])_rowStart.Clone();
            var position = new int[_added.Count];
            (_to, _reverse, _residual) = (new int[_added.Count], new int[_added.Count], new long[_added.Count]);
            for (var edge = 0; edge < _added.Count; edge++)
            {
                var (from, to, capacity) = _added[edge];
                position[edge] = fill[from]++;
                (_to[position[edge]], _residual[position[edge]]) = (to, capacity);
            }

            for (var edge = 0; edge < _added.Count; edge++)
            {
                _reverse[position[edge]] = position[edge ^ 1];
            }

            _added.Clear();
        }

        /// <summary>Breadth-first levels over edges with room left, up to the sink's; true when the sink is reached.</summary>
        private bool Levels(int source, int sink, int[] level, int[] queue)
        {
            Array.Fill(level, -1);
            level[source] = 0;
            var (head, tail) = (0, 0);
            queue[tail++] = source;
            while (head < tail)
            {
                var node = queue[head++];
                if (level[sink] >= 0 && level[node] >= level[sink])
                {
                    break;
                }

                for (var edge = _rowStart[node]; edge < _rowStart[node + 1]; edge++)
                {
                    var to = _to[edge];
                    if (_residual[edge] > 0 && level[to] < 0)
                    {
                        level[to] = level[node] + 1;
                        queue[tail++] = to;
                    }
                }
            }

            return level[sink] >= 0;
        }

        /// <summary>Finds one path along rising levels and pushes its bottleneck; 0 when the level graph is blocked.</summary>
        private long Augment(int source, int sink, int[] level, int[] next, int[] path, int[] tails)
        {
            var (node, depth) = (source, 0);
            while (true)
            {
                if (node == sink)
                {
                    var pushed = Infinite;
                    for (var d = 0; d < depth; d++)
                    {
                        pushed = Math.Min(pushed, _residual[path[d]]);
                    }

                    for (var d = 0; d < depth; d++)
                    {
                        _residual[path[d]] -= pushed;
                        _residual[_reverse[path[d]]] += pushed;
                    }

                    return pushed;
                }

                var advanced = false;
                for (; next[node] < _rowStart[node + 1]; next[node]++)
                {
                    var edge = next[node];
                    if (_residual[edge] > 0 && level[_to[edge]] == level[node] + 1)
                    {
                        (path[depth], tails[depth]) = (edge, node);
                        depth++;
                        node = _to[edge];
                        advanced = true;
                        break;
                    }
                }

                if (!advanced)
                {
                    if (depth == 0)
                    {
                        return 0;
                    }

                    // A dead end: retreat and skip the edge that led here.
                    level[node] = -1;
                    node = tails[--depth];
                    next[node]++;
                }
            }
        }
    }
}
