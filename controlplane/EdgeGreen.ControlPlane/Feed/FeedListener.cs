using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MQTTnet.Adapter;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Implementations;
using MQTTnet.Packets;
using MQTTnet.Server;

namespace EdgeGreen.ControlPlane.Feed;

/// <summary>
/// The embedded broker's TCP listener, in place of MQTTnet's own, because MQTTnet has no limits of
/// its own: it refuses a connection beyond <see cref="FeedOptions.MaxConnections"/> before reading a
/// byte, closes one whose packet announces more than <see cref="FeedOptions.MaxPacketSizeBytes"/>
/// before the body is read (MQTTnet allocates a packet's whole body at once, up to 256 MB), and
/// gives an MQTT 3.1.1 client that connects with an empty client id and a clean session an id of
/// its own, as the protocol allows (MQTTnet refuses it; <c>mosquitto_sub</c> connects that way).
/// </summary>
internal sealed partial class FeedListener(FeedOptions options, FeedMetrics metrics, ILogger logger) : IMqttServerAdapter
{
    private readonly ConcurrentDictionary<Task, byte> _connections = new();
    private TcpListener? _listener;
    private CancellationTokenSource? _stopping;
    private Task? _accepting;
    private int _open;

    public Func<IMqttChannelAdapter, Task>? ClientHandler { get; set; }

    /// <summary>Binds the port (a <see cref="SocketException"/> when it is taken) and accepts connections.</summary>
    public Task StartAsync(MqttServerOptions serverOptions, IMqttNetLogger mqttLogger)
    {
        ArgumentNullException.ThrowIfNull(serverOptions);
        var listener = new TcpListener(IPAddress.Parse(options.BindAddress), options.Port);
        listener.Start();
        _listener = listener;
        _stopping = new CancellationTokenSource();
        _accepting = AcceptAsync(listener, serverOptions, mqttLogger, _stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync()
    {
        if (_stopping is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        _listener?.Stop();
        await _accepting!;
        await Task.WhenAll(_connections.Keys);
    }

    public void Dispose()
    {
        _listener?.Dispose();
        _stopping?.Dispose();
    }

    private async Task AcceptAsync(TcpListener listener, MqttServerOptions serverOptions, IMqttNetLogger mqttLogger, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException && stopping.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException ex)
            {
                // A connection reset before it was accepted; the listener itself is fine.
                LogAcceptFailed(ex.Message);
                continue;
            }

            if (Interlocked.Increment(ref _open) > options.MaxConnections)
            {
                Interlocked.Decrement(ref _open);
                metrics.LimitRefusals.WithLabels("connections").Inc();
                LogTooManyConnections(socket.RemoteEndPoint?.ToString() ?? "?", options.MaxConnections);
                socket.Close(0);
                continue;
            }

            var connection = ServeAsync(socket, serverOptions, mqttLogger);
            _connections.TryAdd(connection, 0);
            _ = connection.ContinueWith(done => _connections.TryRemove(done, out _), CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(Socket socket, MqttServerOptions serverOptions, IMqttNetLogger mqttLogger)
    {
        await Task.Yield();
        var remote = socket.RemoteEndPoint;
        try
        {
            socket.NoDelay = true;
            await using var stream = new PacketSizeLimitStream(new NetworkStream(socket, ownsSocket: true), options.MaxPacketSizeBytes, size =>
            {
                metrics.LimitRefusals.WithLabels("packet_size").Inc();
                LogPacketTooLarge(remote?.ToString() ?? "?", size, options.MaxPacketSizeBytes);
            });
            var channel = new MqttTcpChannel(stream, socket.LocalEndPoint, remote, null);
            var formatter = new MqttPacketFormatterAdapter(new MqttBufferWriter(serverOptions.WriterBufferSize, serverOptions.WriterBufferSizeMax));
            using var adapter = new ClientIdAssigningAdapter(new MqttChannelAdapter(channel, formatter, mqttLogger));
            if (ClientHandler is { } handler)
            {
                await handler(adapter);
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or MQTTnet.Exceptions.MqttCommunicationException or MQTTnet.Exceptions.MqttProtocolViolationException)
        {
            // The client went away or broke a limit (logged where it did); its connection is over either way.
        }
        finally
        {
            socket.Dispose();
            Interlocked.Decrement(ref _open);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused an MQTT connection from {Remote}: {Max} connections are open (EdgeGreen:Feed:MaxConnections)")]
    private partial void LogTooManyConnections(string remote, int max);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closed the MQTT connection from {Remote}: a packet of {Size} bytes is over EdgeGreen:Feed:MaxPacketSizeBytes ({Max})")]
    private partial void LogPacketTooLarge(string remote, long size, int max);

    [LoggerMessage(Level = LogLevel.Debug, Message = "An MQTT connection failed before it was accepted: {Reason}")]
    private partial void LogAcceptFailed(string reason);

    /// <summary>
    /// Follows the MQTT framing of what a client sends (a type byte, a variable-length remaining
    /// length, the body) and fails the read that completes a header announcing a packet over the
    /// limit, so the packet's body is never read or allocated.
    /// </summary>
    private sealed class PacketSizeLimitStream(Stream inner, int maxPacketSizeBytes, Action<long> exceeded) : Stream
    {
        private int _state; // 0: a packet's type byte, 1: its remaining length, 2: its body.
        private long _length;
        private int _lengthBytes;
        private long _remaining;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer, cancellationToken);
            Scan(buffer.Span[..read]);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count)
        {
            var read = inner.Read(buffer, offset, count);
            Scan(buffer.AsSpan(offset, read));
            return read;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) => inner.WriteAsync(buffer, cancellationToken);

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => inner.WriteAsync(buffer, offset, count, cancellationToken);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override void Flush() => inner.Flush();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override ValueTask DisposeAsync() => inner.DisposeAsync();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Scan(ReadOnlySpan<byte> bytes)
        {
            var i = 0;
            while (i < bytes.Length)
            {
                if (_state == 0)
                {
                    (_state, _length, _lengthBytes) = (1, 0, 0);
                    i++;
                }
                else if (_state == 1)
                {
                    var b = bytes[i++];
                    _length |= (long)(b & 0x7F) << (7 * _lengthBytes++);
                    if ((b & 0x80) != 0)
                    {
                        continue;
                    }

                    var size = 1 + _lengthBytes + _length;
                    if (size > maxPacketSizeBytes)
                    {
                        exceeded(size);
                        throw new IOException($"An MQTT packet of {size} bytes is over the limit of {maxPacketSizeBytes}.");
                    }

                    (_state, _remaining) = (_length == 0 ? 0 : 2, _length);
                }
                else
                {
                    var take = (int)Math.Min(_remaining, bytes.Length - i);
                    i += take;
                    _remaining -= take;
                    _state = _remaining == 0 ? 0 : 2;
                }
            }
        }
    }

    /// <summary>Gives an MQTT 3.1.1 client with an empty client id and a clean session an id (MQTT 5 clients get one in the CONNACK instead).</summary>
    private sealed class ClientIdAssigningAdapter(IMqttChannelAdapter inner) : IMqttChannelAdapter
    {
        private bool _connected;

        public long BytesReceived => inner.BytesReceived;

        public long BytesSent => inner.BytesSent;

        public X509Certificate2 ClientCertificate => inner.ClientCertificate;

        public EndPoint RemoteEndPoint => inner.RemoteEndPoint;

        public EndPoint LocalEndPoint => inner.LocalEndPoint;

        public bool IsSecureConnection => inner.IsSecureConnection;

        public MqttPacketFormatterAdapter PacketFormatterAdapter => inner.PacketFormatterAdapter;

        public Task ConnectAsync(CancellationToken cancellationToken) => inner.ConnectAsync(cancellationToken);

        public Task DisconnectAsync(CancellationToken cancellationToken) => inner.DisconnectAsync(cancellationToken);

        public async Task<MqttPacket> ReceivePacketAsync(CancellationToken cancellationToken)
        {
            var packet = await inner.ReceivePacketAsync(cancellationToken);
            if (!_connected && packet is MqttConnectPacket connect)
            {
                _connected = true;
                if (string.IsNullOrEmpty(connect.ClientId) && connect.CleanSession && inner.PacketFormatterAdapter.ProtocolVersion != MqttProtocolVersion.V500)
                {
                    connect.ClientId = AssignedClientId();
                }
            }

            return packet;
        }

        public void ResetStatistics() => inner.ResetStatistics();

        public Task SendPacketAsync(MqttPacket packet, CancellationToken cancellationToken) => inner.SendPacketAsync(packet, cancellationToken);

        public void Dispose() => inner.Dispose();
    }

    /// <summary>An id for a client that connected without one: unguessable, so no other client can take its session over.</summary>
    public static string AssignedClientId() => $"auto-{Guid.NewGuid():N}";
}
