using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeGreen.ControlPlane.Core.Storage;
using EdgeGreen.Shared;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// Turns a submitted body into a <see cref="PipelineDefinition"/>, or into every problem with it
/// keyed by field (<c>steps[2].dependsOn</c>). JSON (<c>application/json</c>, <c>application/*+json</c>)
/// and YAML (<c>application/yaml</c>, <c>application/x-yaml</c>, <c>text/yaml</c>) become the
/// same tree first (<see cref="JsonTree"/>, <see cref="YamlTree"/>), so both are read and
/// checked the same way; the tree is never bigger than the text. Unknown fields are refused, so a
/// misspelt one does not go unnoticed; a null field counts as absent. The caller bounds the size.
/// </summary>
public static class PipelineDefinitionReader
{
    /// <summary>How deeply the document may nest; a definition needs five levels.</summary>
    public const int MaxDepth = 32;

    private const string Whole = "$";

    private static readonly string[] YamlTypes = ["application/yaml", "application/x-yaml", "text/yaml"];
    private static readonly string[] PipelineFields = ["parameters", "deadline", "carbonBudgetGrams", "energyBudgetJoules", "steps"];
    private static readonly string[] StepFields =
    [
        "name", "kind", "dependsOn", "parameters", "when", "cache", "retries", "estimatedDuration", "estimatedPowerWatts",
        "resources", "placement", "interruptible", "carbonBudgetGrams", "energyBudgetJoules",
    ];

    private static readonly string[] ResourceFields = ["cpuCores", "memoryBytes", "gpus"];
    private static readonly string[] PlacementFields = ["agentLabels", "zones"];
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Whether <see cref="Read"/> takes a body of this content type (UTF-8 only, when a charset is given).</summary>
    public static bool IsSupportedContentType(string? contentType) => IsYaml(contentType) is not null;

    public static PipelineReadResult Read(ReadOnlySpan<byte> body, string? contentType)
    {
        if (IsYaml(contentType) is not { } yaml)
        {
            return new PipelineReadResult(PipelineReadStatus.UnsupportedContentType, null, new Dictionary<string, string[]>
            {
                ["contentType"] = [$"a pipeline is JSON (application/json) or YAML (application/yaml, application/x-yaml, text/yaml) in UTF-8, not '{contentType}'."],
            });
        }

        var errors = new PipelineErrors();
        body = body.StartsWith("\uFEFF"u8) ? body[3..] : body;
        JsonNode? root;
        if (yaml)
        {
            string text;
            try
            {
                text = StrictUtf8.GetString(body);
            }
            catch (DecoderFallbackException)
            {
                return Invalid(Whole, "the body is not valid UTF-8.");
            }

            root = YamlTree.Read(text, errors);
        }
        else
        {
            root = JsonTree.Read(body, errors);
        }

        // The tree readers stop at what they cannot read, and say where.
        if (root is null && errors.Count > 0)
        {
            return new PipelineReadResult(PipelineReadStatus.Invalid, null, errors.ToDictionary());
        }

        if (root is not JsonObject pipeline)
        {
            return Invalid(Whole, "a pipeline definition is an object (a mapping) with its steps.");
        }

        var unreadable = new HashSet<int>();
        var definition = ReadPipeline(pipeline, errors, unreadable);

        // Problems with fields the reader could not read are reported once, by the reader.
        errors.AddNew(PipelineValidator.Validate(definition)
            .Where(e => !unreadable.Any(i => e.Key.StartsWith($"steps[{i}]", StringComparison.Ordinal)))
            .ToDictionary());
        return errors.Count == 0
            ? new PipelineReadResult(PipelineReadStatus.Valid, definition, new Dictionary<string, string[]>())
            : new PipelineReadResult(PipelineReadStatus.Invalid, null, errors.ToDictionary());
    }

    /// <summary>True for YAML, false for JSON, null for anything else.</summary>
    private static bool? IsYaml(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var parsed) || parsed.MediaType is not { } mediaType
            || (parsed.CharSet is { } charset && !charset.Trim('"').Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || (mediaType.StartsWith("application/", StringComparison.OrdinalIgnoreCase) && mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase)) ? false
            : YamlTypes.Contains(mediaType, StringComparer.OrdinalIgnoreCase) ? true
            : null;
    }

    private static PipelineReadResult Invalid(string key, string message) =>
        new(PipelineReadStatus.Invalid, null, new Dictionary<string, string[]> { [key] = [message] });

    private static PipelineDefinition ReadPipeline(JsonObject pipeline, PipelineErrors errors, HashSet<int> unreadable)
    {
        var fields = new Fields(pipeline, "", "", errors);
        fields.RefuseUnknown(PipelineFields);
        var parameters = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (fields.Object("parameters") is { } declared)
        {
            foreach (var (name, value) in declared)
            {
                if (value is null)
                {
                    parameters[name] = null;
                }
                else if (Fields.ScalarText(value) is { } text)
                {
                    parameters[name] = text;
                }
                else
                {
                    errors.Add($"parameters.{name}", $"the default of parameter '{name}' must be a string, a number, a boolean or null (required at run time).");
                }
            }
        }

        var steps = new List<PipelineStep>();
        if (fields.Array("steps") is not { } items)
        {
            fields.Error("steps", "steps is required: a list of steps.", onlyIfNew: true);
        }
        else if (items.Count > PipelineValidator.MaxSteps)
        {
            fields.Error("steps", $"a pipeline has at most {PipelineValidator.MaxSteps} steps.");
        }
        else
        {
            for (var i = 0; i < items.Count; i++)
            {
                if (items[i] is JsonObject step)
                {
                    steps.Add(ReadStep(step, i, errors));
                }
                else
                {
                    errors.Add($"steps[{i}]", $"steps[{i}] must be an object (a mapping) describing a step.");
                    unreadable.Add(i);
                    steps.Add(new PipelineStep("", "", new Dictionary<string, string>(), [], null, true, 0, null, null, null, null, false, null, null));
                }
            }
        }

        return new PipelineDefinition(
            parameters,
            fields.Duration("deadline"),
            fields.Number("carbonBudgetGrams"),
            fields.Number("energyBudgetJoules"),
            steps);
    }

    private static PipelineStep ReadStep(JsonObject step, int index, PipelineErrors errors)
    {
        var prefix = $"steps[{index}].";
        var name = step["name"] is JsonValue nameValue && nameValue.GetValueKind() == JsonValueKind.String ? nameValue.GetValue<string>() : null;
        var fields = new Fields(step, prefix, (ExpressionReference.IsValidName(name) ? $"step '{name}'" : $"steps[{index}]") + ": ", errors);
        fields.RefuseUnknown(StepFields);
        name = fields.String("name");
        var kind = fields.String("kind");
        if (name is null)
        {
            fields.Error("name", $"name is required; {ExpressionReference.NameRule}", onlyIfNew: true);
        }

        if (kind is null)
        {
            fields.Error("kind", $"kind is required: one of {string.Join(", ", PipelineValidator.Kinds)}.", onlyIfNew: true);
        }

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (parameter, value) in fields.Object("parameters") ?? [])
        {
            if (Fields.ScalarText(value) is { } text)
            {
                parameters[parameter] = text;
            }
            else
            {
                fields.Error($"parameters.{parameter}", $"parameter '{parameter}' must be a string, a number or a boolean.");
            }
        }

        return new PipelineStep(
            name ?? "",
            kind ?? "",
            parameters,
            fields.Strings("dependsOn", "a list of step names, e.g. [train]") ?? [],
            fields.String("when"),
            fields.Boolean("cache") ?? true,
            fields.Int("retries") ?? 0,
            fields.Duration("estimatedDuration"),
            fields.Number("estimatedPowerWatts"),
            ReadResources(fields, kind, parameters),
            ReadPlacement(fields),
            fields.Boolean("interruptible") ?? false,
            fields.Number("carbonBudgetGrams"),
            fields.Number("energyBudgetJoules"));
    }

    /// <summary>As a submitted job: without <c>cpuCores</c>, the threads the parameters name (burn, serve) when they are known now, else one core.</summary>
    private static JobResources? ReadResources(Fields step, string? kindName, Dictionary<string, string> parameters)
    {
        if (step.Object("resources") is not { } resources)
        {
            return null;
        }

        var fields = step.Nested(resources, "resources");
        fields.RefuseUnknown(ResourceFields);
        var cpuCores = fields.Int("cpuCores");
        if (cpuCores is null && kindName is not null && JobKinds.Find(kindName) is { } kind
            && !parameters.Values.Any(ParameterTemplate.ContainsExpressions) && kind.Validate(parameters).Count == 0)
        {
            cpuCores = kind.ImpliedCpuCores(parameters);
        }

        return new JobResources(cpuCores ?? 1, fields.Long("memoryBytes") ?? 0, fields.Int("gpus") ?? 0);
    }

    private static JobPlacement? ReadPlacement(Fields step)
    {
        if (step.Object("placement") is not { } placement)
        {
            return null;
        }

        var fields = step.Nested(placement, "placement");
        fields.RefuseUnknown(PlacementFields);
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (label, value) in fields.Object("agentLabels") ?? [])
        {
            if (value is not null && Fields.ScalarText(value) is { } text)
            {
                labels[label] = text;
            }
            else
            {
                fields.Error($"agentLabels.{label}", $"agent label '{label}' must be a string.");
            }
        }

        return new JobPlacement(labels, fields.Strings("zones", "a list of zone names, e.g. [NO]") ?? []);
    }

    /// <summary>Typed reads of one object's fields, each problem keyed by field and prefixed with whose field it is.</summary>
    private sealed class Fields(JsonObject obj, string prefix, string label, PipelineErrors errors)
    {
        public Fields Nested(JsonObject nested, string field) => new(nested, $"{prefix}{field}.", label, errors);

        public void Error(string field, string message, bool onlyIfNew = false)
        {
            if (!onlyIfNew || !errors.Contains(prefix + field))
            {
                errors.Add(prefix + field, label + message);
            }
        }

        public void RefuseUnknown(string[] known)
        {
            foreach (var (field, _) in obj.Where(f => !known.Contains(f.Key)))
            {
                Error(field, $"'{field}' is not a field here; the fields are {string.Join(", ", known)}.");
            }
        }

        /// <summary>A string, number or boolean as text (numbers as written); null for anything else.</summary>
        public static string? ScalarText(JsonNode? node) => node?.GetValueKind() switch
        {
            JsonValueKind.String => node.GetValue<string>(),
            JsonValueKind.Number => node.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };

        public string? String(string field) => Read(field, "a string", JsonValueKind.String, n => n.GetValue<string>());

        public bool? Boolean(string field) => Read(field, "true or false", JsonValueKind.True, n => (bool?)(n.GetValueKind() == JsonValueKind.True));

        public int? Int(string field) => Read(field, "a whole number", JsonValueKind.Number, n => n.AsValue().TryGetValue<int>(out var v) ? v : (int?)null);

        public long? Long(string field) => Read(field, "a whole number", JsonValueKind.Number, n => n.AsValue().TryGetValue<long>(out var v) ? v : (long?)null);

        public double? Number(string field) =>
            Read(field, "a number", JsonValueKind.Number, n => n.AsValue().TryGetValue<double>(out var v) && double.IsFinite(v) ? v : (double?)null);

        public TimeSpan? Duration(string field) =>
            Read(field, "an ISO 8601 duration such as PT10M", JsonValueKind.String, n => Durations.TryParse(n.GetValue<string>(), out var d) ? d : (TimeSpan?)null);

        public JsonObject? Object(string field) => Read(field, "an object (a mapping)", JsonValueKind.Object, n => n.AsObject());

        public JsonArray? Array(string field) => Read(field, "a list", JsonValueKind.Array, n => n.AsArray());

        public List<string>? Strings(string field, string what)
        {
            if (Read(field, what, JsonValueKind.Array, n => n.AsArray()) is not { } items)
            {
                return null;
            }

            if (items.Any(i => i?.GetValueKind() != JsonValueKind.String))
            {
                Error(field, $"{field} must be {what}.");
                return null;
            }

            return [.. items.Select(i => i!.GetValue<string>())];
        }

        /// <summary>
        /// The field's value, or null when it is absent or null; a value of another kind (for
        /// <see cref="JsonValueKind.True"/>: not a boolean), or one <paramref name="convert"/>
        /// refuses, is reported with what the field must be.
        /// </summary>
        private T? Read<T>(string field, string what, JsonValueKind kind, Func<JsonNode, T?> convert)
        {
            if (obj[field] is not { } node)
            {
                return default;
            }

            var actual = node.GetValueKind();
            if ((actual == kind || (kind == JsonValueKind.True && actual == JsonValueKind.False)) && convert(node) is { } value)
            {
                return value;
            }

            var hint = (actual, kind) switch
            {
                (JsonValueKind.String, JsonValueKind.Number or JsonValueKind.True) => ", not a string (in YAML, leave it unquoted)",
                (JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False, JsonValueKind.String) => " (in YAML, quote it)",
                _ => "",
            };
            Error(field, $"{field} must be {what}{hint}.");
            return default;
        }
    }
}
