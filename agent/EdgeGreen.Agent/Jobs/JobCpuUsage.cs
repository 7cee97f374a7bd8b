using System.Globalization;

namespace EdgeGreen.Agent.Jobs;

/// <summary>
/// The CPU time a job has used, from what it registers: its own threads inside the agent, a
/// process and its descendants, or a cgroup v2 group. Read from procfs and cgroupfs in
/// microseconds; a source that ends keeps its last reading, and the total never goes backwards.
/// </summary>
public sealed class JobCpuUsage(string procRoot)
{
    /// <summary>USER_HZ: the unit of /proc CPU times. 100 on every mainstream Linux architecture.</summary>
    public const long MicrosecondsPerTick = 10_000;

    private readonly Lock _gate = new();
    private readonly List<Source> _sources = [];
    private long _highest;

    /// <summary>The processes whose GPU use belongs to this job.</summary>
    public IReadOnlyCollection<int> Pids
    {
        get
        {
            lock (_gate)
            {
                return [.. _sources.SelectMany(s => s.Pids()).Distinct()];
            }
        }
    }

    /// <summary>Counts the calling thread's CPU time until the returned handle is disposed (at the thread's end).</summary>
    public IDisposable TrackCurrentThread()
    {
        // /proc/thread-self links to "<pid>/task/<tid>" for the calling thread.
        var link = new FileInfo("/proc/thread-self").LinkTarget?.Split('/') ?? [];
        return link is [var pid, "task", var tid]
            ? TrackThread(int.Parse(pid, CultureInfo.InvariantCulture), int.Parse(tid, CultureInfo.InvariantCulture))
            : throw new PlatformNotSupportedException("/proc/thread-self is not available: job CPU time cannot be tracked.");
    }

    /// <summary>Counts one thread of a process; its time so far is the baseline.</summary>
    public IDisposable TrackThread(int pid, int tid) =>
        Add(new FileSource(Path.Combine(procRoot, pid.ToString(CultureInfo.InvariantCulture), "task", tid.ToString(CultureInfo.InvariantCulture), "stat"), pid, withChildren: false));

    /// <summary>Counts a process, the children it has reaped, and its live descendants.</summary>
    public IDisposable TrackProcess(int pid) => Add(new ProcessTreeSource(procRoot, pid));

    /// <summary>Counts a cgroup v2 group by its <c>cpu.stat</c> <c>usage_usec</c>.</summary>
    public IDisposable TrackCgroup(string groupPath) => Add(new CgroupSource(groupPath));

    /// <summary>Counts a cumulative CPU time in microseconds that the agent measures itself (inference of a deployment's version); it has no processes of its own.</summary>
    public IDisposable TrackCounter(Func<long> microseconds) => Add(new CounterSource(microseconds));

    /// <summary>CPU time used since tracking began, in microseconds.</summary>
    public long ReadMicroseconds()
    {
        lock (_gate)
        {
            _highest = Math.Max(_highest, _sources.Sum(s => s.Used()));
            return _highest;
        }
    }

    private Source Add(Source source)
    {
        lock (_gate)
        {
            _sources.Add(source);
        }

        return source;
    }

    private abstract class Source : IDisposable
    {
        private long _baseline = -1;
        private long _last;
        private bool _ended;

        public abstract IEnumerable<int> Pids();

        /// <summary>Microseconds since the source was added; the last value once it ended or vanished.</summary>
        public long Used()
        {
            if (_ended)
            {
                return _last;
            }

            try
            {
                var now = ReadTotal();
                if (_baseline < 0)
                {
                    _baseline = now;
                }

                _last = Math.Max(_last, now - _baseline);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
            {
                _ended = true;
            }

            return _last;
        }

        public void Dispose()
        {
            _ = Used();
            _ended = true;
        }

        protected abstract long ReadTotal();

        protected void Start() => Used();
    }

    private sealed class FileSource : Source
    {
        private readonly string _statPath;
        private readonly int _pid;
        private readonly bool _withChildren;

        public FileSource(string statPath, int pid, bool withChildren)
        {
            _statPath = statPath;
            _pid = pid;
            _withChildren = withChildren;
            Start();
        }

        public override IEnumerable<int> Pids() => [_pid];

        protected override long ReadTotal() => ReadStat(_statPath, _withChildren);
    }

    private sealed class CounterSource : Source
    {
        private readonly Func<long> _microseconds;

        public CounterSource(Func<long> microseconds)
        {
            _microseconds = microseconds;
            Start();
        }

        public override IEnumerable<int> Pids() => [];

        protected override long ReadTotal() => _microseconds();
    }

    private sealed class ProcessTreeSource : Source
    {
        private readonly string _procRoot;
        private readonly int _pid;

        public ProcessTreeSource(string procRoot, int pid)
        {
            _procRoot = procRoot;
            _pid = pid;
            Start();
        }

        public override IEnumerable<int> Pids() => Tree();

        protected override long ReadTotal()
        {
            var total = 0L;
            foreach (var pid in Tree())
            {
                try
                {
                    total += ReadStat(Path.Combine(_procRoot, pid.ToString(CultureInfo.InvariantCulture), "stat"), withChildren: true);
                }
                catch (Exception ex) when ((ex is IOException or UnauthorizedAccessException) && pid != _pid)
                {
                    // A descendant that ended between listing and reading: its parent reaps its time.
                }
            }

            return total;
        }

        /// <summary>The process and its live descendants, from each thread's <c>children</c> list.</summary>
        private List<int> Tree()
        {
            var found = new List<int> { _pid };
            for (var i = 0; i < found.Count && found.Count < 10_000; i++)
            {
                var tasks = Path.Combine(_procRoot, found[i].ToString(CultureInfo.InvariantCulture), "task");
                if (!Directory.Exists(tasks))
                {
                    continue;
                }

                foreach (var children in Directory.EnumerateDirectories(tasks).Select(t => Path.Combine(t, "children")).Where(File.Exists))
                {
                    found.AddRange(File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries)
                        .Select(c => int.Parse(c, CultureInfo.InvariantCulture)).Where(c => !found.Contains(c)));
                }
            }

            return found;
        }
    }

    private sealed class CgroupSource : Source
    {
        private readonly string _path;

        public CgroupSource(string path)
        {
            _path = path;
            Start();
        }

        public override IEnumerable<int> Pids()
        {
            var procs = Path.Combine(_path, "cgroup.procs");
            try
            {
                return File.Exists(procs) ? File.ReadAllLines(procs).Where(l => l.Length > 0).Select(l => int.Parse(l, CultureInfo.InvariantCulture)).ToArray() : [];
            }
            catch (IOException)
            {
                return [];
            }
        }

        protected override long ReadTotal()
        {
            foreach (var line in File.ReadLines(Path.Combine(_path, "cpu.stat")))
            {
                if (line.StartsWith("usage_usec ", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan("usage_usec ".Length), CultureInfo.InvariantCulture);
                }
            }

            throw new FormatException($"{_path}/cpu.stat has no usage_usec.");
        }
    }

    /// <summary>utime + stime (and cutime + cstime with children) of a /proc stat file, in microseconds.</summary>
    private static long ReadStat(string path, bool withChildren)
    {
        var text = File.ReadAllText(path);

        // The command name in parentheses may hold spaces; the fields after it start at state (field 3).
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (withChildren)
        {
            ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        return ticks * MicrosecondsPerTick;
    }
}
