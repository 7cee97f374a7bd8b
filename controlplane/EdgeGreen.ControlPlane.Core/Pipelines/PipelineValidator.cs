using System.Globalization;
using EdgeGreen.Shared.Jobs;

namespace EdgeGreen.ControlPlane.Core.Pipelines;

/// <summary>
/// What a definition must satisfy before it is stored, as problems keyed by field
/// (<c>steps[2].dependsOn</c>, <c>steps[0].parameters.model</c>, <c>deadline</c>), each message
/// naming its step: the kinds, names, dependencies (no unknown step, no cycle), expressions and
/// templates (they parse, read only declared parameters and the results of steps the step depends
/// on), each job step's parameters as its kind checks them (templated values are checked when the
/// step runs), the control-plane kinds' parameters, and the bounds a submitted job has.
/// </summary>
public static class PipelineValidator
{
    public const int MaxSteps = 100;

    /// <summary>The most parameters a pipeline declares, and the most a step takes.</summary>
    public const int MaxParameters = 64;

    public const int MaxRetries = 5;

    /// <summary>The most agent labels, and the most zones, a step's placement names.</summary>
    public const int MaxPlacementEntries = 64;

    // The bounds JobSubmissions puts on a submitted job.
    private const int MaxCpuCores = 4096;
    private const int MaxGpus = 64;
    private const double MaxPowerWatts = 100_000;
    private const int MaxParameterNameLength = 128;
    private const string ModelScheme = "models:/";

    /// <summary>Every kind a step may have: the job kinds, then the control plane's own.</summary>
    public static IReadOnlyList<string> Kinds { get; } = [.. JobKinds.All.Select(k => k.Name), .. PipelineStepKinds.All];

    /// <summary>Problems with <paramref name="definition"/>; empty when it is valid.</summary>
    public static Dictionary<string, string[]> Validate(PipelineDefinition definition)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var errors = new PipelineErrors();
        CheckPipeline(definition, errors);
        var steps = definition.Steps;
        if (steps.Count == 0)
        {
            errors.Add("steps", "a pipeline needs at least one step.");
        }
        else if (steps.Count > MaxSteps)
        {
            errors.Add("steps", $"a pipeline has at most {MaxSteps} steps.");
            return errors.ToDictionary();
        }

        var firstIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            if (!firstIndex.TryAdd(steps[i].Name, i))
            {
                errors.Add($"steps[{i}].name", $"{Label(steps[i], i)}: another step (steps[{firstIndex[steps[i].Name]}]) has the same name.");
            }
        }

        var ancestors = PipelineGraph.Ancestors(steps);
        for (var i = 0; i < steps.Count; i++)
        {
            new StepCheck(definition, steps[i], i, firstIndex, ancestors, errors).Run();
        }

        foreach (var cycle in PipelineGraph.FindCycles(steps))
        {
            errors.Add($"steps[{firstIndex[cycle[0]]}].dependsOn",
                $"step '{cycle[0]}' is on a dependency cycle: {string.Join(" -> ", cycle)} (each depends on the next).");
        }

        return errors.ToDictionary();
    }

    private static void CheckPipeline(PipelineDefinition definition, PipelineErrors errors)
    {
        if (definition.Parameters.Count > MaxParameters)
        {
            errors.Add("parameters", $"a pipeline declares at most {MaxParameters} parameters.");
        }

        foreach (var name in definition.Parameters.Keys.Where(n => !ExpressionReference.IsValidName(n)))
        {
            errors.Add($"parameters.{name}", $"parameter '{name}': {ExpressionReference.NameRule}");
        }

        if (definition.Deadline is { } deadline && deadline <= TimeSpan.Zero)
        {
            errors.Add("deadline", "deadline must be a positive ISO 8601 duration, e.g. PT12H.");
        }

        CheckPositive(definition.CarbonBudgetGrams, "carbonBudgetGrams", "", errors);
        CheckPositive(definition.EnergyBudgetJoules, "energyBudgetJoules", "", errors);
    }

    private static void CheckPositive(double? value, string key, string label, PipelineErrors errors)
    {
        if (value is { } v && !(double.IsFinite(v) && v > 0))
        {
            var field = key[(key.LastIndexOf('.') + 1)..];
            errors.Add(key, $"{label}{field} must be a positive number when given.");
        }
    }

    /// <summary>How messages name a step: by its name, or by its place when the name is unusable.</summary>
    private static string Label(PipelineStep step, int index) =>
        ExpressionReference.IsValidName(step.Name) ? $"step '{step.Name}'" : $"steps[{index}]";

    /// <summary>The registry's rule for alias names (the models API applies the same).</summary>
    internal static bool IsValidAlias(string alias) =>
        alias is { Length: > 0 and <= 64 } && char.IsAsciiLetter(alias[0]) && alias.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');

    /// <summary>The checks of one step.</summary>
    private sealed class StepCheck(
        PipelineDefinition definition,
        PipelineStep step,
        int index,
        Dictionary<string, int> firstIndex,
        Dictionary<string, HashSet<string>> ancestors,
        PipelineErrors errors)
    {
        private readonly string _key = $"steps[{index}]";
        private readonly string _label = Label(step, index);

        /// <summary>Parameter names whose values hold <c>${{ … }}</c>.</summary>
        private readonly HashSet<string> _templated = new(step.Parameters.Keys.Where(k => ParameterTemplate.ContainsExpressions(step.Parameters[k])), StringComparer.Ordinal);

        public void Run()
        {
            CheckName();
            CheckDependencies();
            CheckExpressions();
            var kind = JobKinds.Find(step.Kind);
            if (kind is not null)
            {
                CheckJobParameters(kind);
                CheckJobFields();
            }
            else if (PipelineStepKinds.IsControlPlaneKind(step.Kind))
            {
                CheckControlPlaneStep();
            }
            else
            {
                Add("kind", step.Kind.Length == 0
                    ? $"kind is required: one of {string.Join(", ", Kinds)}."
                    : $"kind '{step.Kind}' is unknown; it must be one of {string.Join(", ", Kinds)}.");
            }

            if (step.Retries is < 0 or > MaxRetries)
            {
                Add("retries", $"retries must be a whole number from 0 to {MaxRetries}.");
            }
        }

        private void Add(string field, string message) => errors.Add($"{_key}.{field}", $"{_label}: {message}");

        private void CheckName()
        {
            if (step.Name.Length == 0)
            {
                Add("name", $"name is required; {ExpressionReference.NameRule}");
            }
            else if (!ExpressionReference.IsValidName(step.Name))
            {
                Add("name", $"'{step.Name}' is not a usable step name: {ExpressionReference.NameRule}");
            }
        }

        private void CheckDependencies()
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var dependency in step.DependsOn)
            {
                var problem = dependency == step.Name ? "a step cannot depend on itself."
                    : !firstIndex.ContainsKey(dependency) ? $"dependsOn names '{dependency}', which is not a step."
                    : !seen.Add(dependency) ? $"dependsOn names '{dependency}' twice."
                    : null;
                if (problem is not null)
                {
                    Add("dependsOn", problem);
                }
            }
        }

        private void CheckExpressions()
        {
            if (step.When is { } when && (when.Trim().Length > 0 || step.Kind != PipelineStepKinds.Gate))
            {
                if (PipelineExpression.TryParse(when, out var condition, out var error))
                {
                    CheckReferences("when", "when", condition.References);
                }
                else
                {
                    Add("when", $"when {error}");
                }
            }

            if (step.Parameters.Count > MaxParameters)
            {
                Add("parameters", $"a step takes at most {MaxParameters} parameters.");
            }

            foreach (var (name, value) in step.Parameters)
            {
                if (name.Length is 0 or > MaxParameterNameLength)
                {
                    Add("parameters", $"parameter names are 1 to {MaxParameterNameLength} characters.");
                }

                if (!_templated.Contains(name))
                {
                    continue;
                }

                if (ParameterTemplate.TryParse(value, out var template, out var error))
                {
                    CheckReferences($"parameters.{name}", $"parameter '{name}'", template.References);
                }
                else
                {
                    Add($"parameters.{name}", $"parameter '{name}' {error}");
                }
            }
        }

        private void CheckReferences(string field, string where, IReadOnlyList<ExpressionReference> references)
        {
            foreach (var reference in references)
            {
                string? problem;
                if (reference.Step is not { } other)
                {
                    problem = definition.Parameters.ContainsKey(reference.Name) ? null : $"the pipeline declares no parameter '{reference.Name}'";
                }
                else if (!firstIndex.ContainsKey(other))
                {
                    problem = $"there is no step '{other}'";
                }
                else if (other == step.Name)
                {
                    problem = "a step cannot read its own results";
                }
                else if (firstIndex.GetValueOrDefault(step.Name, -1) == index && !ancestors[step.Name].Contains(other))
                {
                    problem = $"'{other}' is not a step that '{step.Name}' depends on (directly or through other steps), so it may not have run";
                }
                else
                {
                    problem = null;
                }

                if (problem is not null)
                {
                    Add(field, $"{where} refers to {reference}, but {problem}.");
                }
            }
        }

        /// <summary>The kind's own check, on the values known now: a templated value is checked once rendered, when the step runs.</summary>
        private void CheckJobParameters(JobKind kind)
        {
            var known = step.Parameters.Where(p => !_templated.Contains(p.Key)).ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            foreach (var (parameter, problem) in kind.Validate(known).Where(p => !_templated.Contains(p.Key)))
            {
                Add($"parameters.{parameter}", problem);
            }
        }

        private void CheckJobFields()
        {
            if (step.EstimatedDuration is { } duration && duration <= TimeSpan.Zero)
            {
                Add("estimatedDuration", "estimatedDuration must be a positive ISO 8601 duration, e.g. PT10M.");
            }

            if (step.EstimatedPowerWatts is { } power && !(double.IsFinite(power) && power is > 0 and <= MaxPowerWatts))
            {
                Add("estimatedPowerWatts", string.Create(CultureInfo.InvariantCulture, $"estimatedPowerWatts must be above 0 and at most {MaxPowerWatts} W."));
            }

            if (step.Resources is { } resources && (resources.CpuCores is < 0 or > MaxCpuCores || resources.MemoryBytes < 0 || resources.Gpus is < 0 or > MaxGpus))
            {
                Add("resources", $"resources need 0-{MaxCpuCores} cpuCores, non-negative memoryBytes and 0-{MaxGpus} gpus.");
            }

            if (step.Placement is { } placement)
            {
                if (placement.AgentLabels.Count > MaxPlacementEntries || placement.AgentLabels.Any(l => l.Key.Length == 0))
                {
                    Add("placement.agentLabels", $"placement names at most {MaxPlacementEntries} agent labels, each with a non-empty name.");
                }

                if (placement.Zones.Count > MaxPlacementEntries || placement.Zones.Any(z => z.Length == 0))
                {
                    Add("placement.zones", $"placement names at most {MaxPlacementEntries} zones, none empty.");
                }
            }

            CheckPositive(step.CarbonBudgetGrams, $"{_key}.carbonBudgetGrams", $"{_label}: ", errors);
            CheckPositive(step.EnergyBudgetJoules, $"{_key}.energyBudgetJoules", $"{_label}: ", errors);
        }

        private void CheckControlPlaneStep()
        {
            var kind = step.Kind;
            var jobFields = new (string Field, bool Given)[]
            {
                ("estimatedDuration", step.EstimatedDuration is not null),
                ("estimatedPowerWatts", step.EstimatedPowerWatts is not null),
                ("resources", step.Resources is not null),
                ("placement", step.Placement is not null),
                ("interruptible", step.Interruptible),
                ("carbonBudgetGrams", step.CarbonBudgetGrams is not null),
                ("energyBudgetJoules", step.EnergyBudgetJoules is not null),
            };
            foreach (var (field, _) in jobFields.Where(f => f.Given))
            {
                Add(field, $"a {kind} step runs in the control plane, not on an agent, and takes no {field}.");
            }

            switch (kind)
            {
                case PipelineStepKinds.Gate:
                    if (string.IsNullOrWhiteSpace(step.When))
                    {
                        Add("when", "a gate needs a when: the condition it checks.");
                    }

                    if (step.Parameters.Count > 0)
                    {
                        Add("parameters", "a gate takes no parameters.");
                    }

                    break;
                case PipelineStepKinds.SetAlias:
                    CheckModel("set-alias moves an alias to a model version");
                    if (Known("alias", "alias is required: the alias to move (e.g. champion).") is { } alias && !IsValidAlias(alias))
                    {
                        Add("parameters.alias", "alias is 1 to 64 letters, digits, '.', '_' or '-', starting with a letter.");
                    }

                    foreach (var unknown in step.Parameters.Keys.Where(k => k is not ("model" or "alias")))
                    {
                        Add($"parameters.{unknown}", $"set-alias takes only model and alias, not '{unknown}'.");
                    }

                    break;
                default:
                    if (Known("deployment", "deployment is required: the name of the deployment to create or update.") is { } deployment && !ResourceNames.IsValid(deployment))
                    {
                        Add("parameters.deployment", $"deployment: {ResourceNames.Rule}");
                    }

                    CheckModel("deploy rolls out a model version");
                    break;
            }
        }

        private void CheckModel(string what)
        {
            if (Known("model", $"model is required: {what} (models:/NAME/VERSION or models:/NAME@ALIAS).") is { } model && !model.StartsWith(ModelScheme, StringComparison.Ordinal))
            {
                Add("parameters.model", "model must be models:/NAME/VERSION or models:/NAME@ALIAS.");
            }
        }

        /// <summary>A required parameter's value when it is known now; null when it is templated or missing (reported).</summary>
        private string? Known(string parameter, string missing)
        {
            if (!step.Parameters.TryGetValue(parameter, out var value) || string.IsNullOrWhiteSpace(value))
            {
                Add($"parameters.{parameter}", missing);
                return null;
            }

            return _templated.Contains(parameter) ? null : value;
        }
    }
}
