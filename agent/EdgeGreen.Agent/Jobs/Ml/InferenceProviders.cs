using Microsoft.Extensions.Options;
using Microsoft.ML.OnnxRuntime;
using SessionOptions = Microsoft.ML.OnnxRuntime.SessionOptions;

namespace EdgeGreen.Agent.Jobs.Ml;

/// <summary>
/// Which ONNX Runtime execution provider the agent's inference jobs use, decided once at start:
/// CUDA when asked for (or Auto) and both compiled into this agent's ONNX Runtime and able to open
/// GPU 0; the CPU otherwise, with the reason logged once and reported in the agent's state.
/// </summary>
public sealed partial class InferenceProviders
{
    public const string Cpu = "CPUExecutionProvider";
    public const string Cuda = "CUDAExecutionProvider";

    private readonly ILogger<InferenceProviders> _logger;

    public InferenceProviders(IOptions<AgentOptions> options, ILogger<InferenceProviders> logger)
    {
        _logger = logger;
        var wanted = options.Value.Inference.Provider;
        // Looking for the CUDA provider's library, rather than asking ONNX Runtime, keeps its native
        // library out of the agent's memory until a job needs it (see the overhead benchmark).
        Available = HasCudaProvider() ? [Cpu, Cuda] : [Cpu];
        (Chosen, Note) = Choose(wanted, Available);
        if (Note is not null)
        {
            LogCpu(Note);
        }
    }

    public IReadOnlyList<string> Available { get; }

    public string Chosen { get; }

    /// <summary>Why the CPU runs inference when another provider was possible or asked for; null otherwise.</summary>
    public string? Note { get; }

    /// <summary>Session options for the chosen provider and thread count.</summary>
    public static SessionOptions Options(string provider, int intraOpThreads = 0)
    {
        var options = new SessionOptions { IntraOpNumThreads = intraOpThreads, InterOpNumThreads = intraOpThreads > 0 ? 1 : 0 };
        if (provider == Cuda)
        {
            options.AppendExecutionProvider_CUDA(0);
        }

        return options;
    }

    private static bool HasCudaProvider() =>
        Directory.EnumerateFiles(AppContext.BaseDirectory, "libonnxruntime_providers_cuda.so", SearchOption.AllDirectories).Any();

    internal static (string Chosen, string? Note) Choose(string wanted, IReadOnlyList<string> available)
    {
        if (wanted == "Cpu")
        {
            return (Cpu, null);
        }

        if (!available.Contains(Cuda))
        {
            return (Cpu, $"this agent's ONNX Runtime has no CUDA execution provider (it was built with the CPU package; build it with -p:OnnxRuntimeGpu=true for CUDA; providers: {string.Join(", ", available)}), so inference runs on the CPU"
                + (wanted == "Cuda" ? ", although Inference:Provider asks for Cuda" : ""));
        }

        return CudaProbe.Start() is { } failure
            ? (Cpu, $"the CUDA execution provider could not start ({failure}), so inference runs on the CPU")
            : (Cuda, null);
    }

    /// <summary>
    /// Kept apart so that ONNX Runtime's assembly and native library load only on a node whose
    /// agent ships the CUDA provider (see the overhead benchmark).
    /// </summary>
    private static class CudaProbe
    {
        /// <returns>Null when CUDA starts, else why not.</returns>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
        public static string? Start()
        {
            try
            {
                using var probe = Options(Cuda);
                return null;
            }
            catch (OnnxRuntimeException ex)
            {
                return ex.Message;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "ONNX inference on the CPU: {Reason}")]
    private partial void LogCpu(string reason);
}
