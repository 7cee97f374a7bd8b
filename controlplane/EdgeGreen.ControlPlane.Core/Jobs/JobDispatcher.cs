using System.Collections.Concurrent;
using System.Threading.Channels;
using EdgeGreen.Contracts.V1;

namespace EdgeGreen.ControlPlane.Core.Jobs;

/// <summary>The open <c>JobService.Watch</c> streams, one per agent; an agent that opens a new one replaces its old one.</summary>
public sealed class JobDispatcher
{
    private readonly ConcurrentDictionary<string, Channel<JobCommand>> _streams = new(StringComparer.Ordinal);

    public bool IsConnected(string agentId) => _streams.ContainsKey(agentId);

    public IReadOnlyCollection<string> ConnectedAgents => [.. _streams.Keys];

    public Channel<JobCommand> Connect(string agentId)
    {
        var channel = Channel.CreateUnbounded<JobCommand>(new UnboundedChannelOptions { SingleReader = true });
        if (_streams.TryGetValue(agentId, out var previous))
        {
            previous.Writer.TryComplete();
        }

        _streams[agentId] = channel;
        return channel;
    }

    public void Disconnect(string agentId, Channel<JobCommand> channel)
    {
        channel.Writer.TryComplete();
        _streams.TryRemove(new KeyValuePair<string, Channel<JobCommand>>(agentId, channel));
    }

    /// <summary>Queues a command on the agent's stream; false when the agent has none open.</summary>
    public bool Send(string agentId, JobCommand command) =>
        _streams.TryGetValue(agentId, out var channel) && channel.Writer.TryWrite(command);

    /// <summary>Ends every stream (at shutdown, so that agents reconnect instead of waiting).</summary>
    public void DisconnectAll()
    {
        foreach (var (agentId, channel) in _streams)
        {
            Disconnect(agentId, channel);
        }
    }
}
