using System.Net;
using Microsoft.Extensions.Options;
using Prometheus;

namespace EdgeGreen.Agent;

/// <summary>
/// The stand-alone agent's HTTP endpoint: <c>GET /metrics</c> (the Prometheus text format, written
/// by prometheus-net from the agent's registry), <c>GET /healthz</c>, and the Open Inference
/// Protocol under <c>/v2</c> for the models its <c>serve</c> jobs serve. Served by the runtime's
/// own HttpListener rather than an ASP.NET Core server, which would more than double the agent's
/// memory (see the overhead benchmark in the README).
/// </summary>
public sealed partial class AgentEndpoint(
    IOptions<AgentOptions> options,
    CollectorRegistry registry,
    Serving.OpenInferenceProtocol inference,
    ILogger<AgentEndpoint> logger) : BackgroundService
{
    private readonly HttpListener _listener = new();

    /// <summary>Binds before the host reports started, so a port in use fails the start with its reason.</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        var prefix = Prefix(options.Value.HttpUrl);
        _listener.Prefixes.Add(prefix);
        _listener.Start();
        LogListening(prefix);
        return base.StartAsync(cancellationToken);
    }

    /// <summary>Cancels the loop first: its cancellation stops the listener, which must not be closed yet.</summary>
    public override void Dispose()
    {
        base.Dispose();
        _listener.Close();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var listener = _listener;
        await using var stop = stoppingToken.Register(listener.Stop);
        while (!stoppingToken.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (stoppingToken.IsCancellationRequested && ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                break;
            }

            _ = Task.Run(() => ServeAsync(context, stoppingToken), CancellationToken.None);
        }
    }

    /// <summary>HttpListener's prefix for the configured URL: it must end in a slash.</summary>
    internal static string Prefix(string url) => url.EndsWith('/') ? url : url + "/";

    private async Task ServeAsync(HttpListenerContext context, CancellationToken cancellationToken)
    {
        var response = context.Response;
        try
        {
            switch (context.Request.HttpMethod, context.Request.Url?.AbsolutePath)
            {
                case ("GET", "/metrics"):
                    response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
                    await registry.CollectAndExportAsTextAsync(response.OutputStream, cancellationToken);
                    break;
                case ("GET", "/healthz"):
                    response.ContentType = "text/plain";
                    await response.OutputStream.WriteAsync("Healthy"u8.ToArray(), cancellationToken);
                    break;
                case (var method, { } path) when path == "/v2" || path.StartsWith("/v2/", StringComparison.Ordinal):
                    var reply = await inference.AnswerAsync(method, path, context.Request.InputStream,
                        context.Request.ContentLength64 >= 0 ? context.Request.ContentLength64 : null,
                        context.Request.Headers[Serving.OpenInferenceProtocol.HeaderLengthHeader],
                        context.Request.Headers[Serving.OpenInferenceProtocol.RequestKeyHeader], cancellationToken);
                    response.StatusCode = reply.Status;
                    response.ContentType = reply.ContentType;
                    if (reply.HeaderLength is { } headerLength)
                    {
                        response.Headers[Serving.OpenInferenceProtocol.HeaderLengthHeader] = headerLength.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    }

                    await response.OutputStream.WriteAsync(reply.Body, cancellationToken);
                    break;
                case (_, "/metrics" or "/healthz"):
                    response.StatusCode = (int)HttpStatusCode.MethodNotAllowed;
                    break;
                default:
                    response.StatusCode = (int)HttpStatusCode.NotFound;
                    break;
            }
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException)
        {
            // The scraper went away mid-answer.
            LogAnswerFailed(ex.Message);
        }
        catch (Exception ex)
        {
            // Never an empty 200: the caller learns that the answer failed, the log says why.
            LogAnswerError(ex, context.Request.HttpMethod, context.Request.Url?.AbsolutePath);
            TryAnswerError(response);
        }
        finally
        {
            response.Close();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving /metrics, /healthz and /v2 (inference) on {Prefix}")]
    private partial void LogListening(string prefix);

    /// <summary>A 500 with the inference protocol's error body, where the answer has not begun (else the connection is cut).</summary>
    private static void TryAnswerError(HttpListenerResponse response)
    {
        try
        {
            response.StatusCode = (int)HttpStatusCode.InternalServerError;
            response.ContentType = "application/json";
            response.OutputStream.Write("{\"error\":\"internal error; see the agent's log\"}"u8);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpListenerException or IOException or ObjectDisposedException)
        {
            response.Abort();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "An HTTP answer was cut off: {Reason}")]
    private partial void LogAnswerFailed(string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Answering {Method} {Path} failed")]
    private partial void LogAnswerError(Exception exception, string method, string? path);
}
