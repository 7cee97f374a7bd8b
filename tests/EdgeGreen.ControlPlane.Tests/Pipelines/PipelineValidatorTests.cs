using EdgeGreen.ControlPlane.Core.Pipelines;
using static EdgeGreen.ControlPlane.Tests.Pipelines.PipelineSamples;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class PipelineValidatorTests
{
    private static IReadOnlyDictionary<string, string[]> Errors(string yaml) => Invalid(ReadYaml(yaml));

    [Fact]
    public void Validate_TheSample_HasNoErrors() =>
        Assert.Empty(PipelineValidator.Validate(Valid(ReadJson(Json))));

    [Fact]
    public void Validate_UnknownKind_ListsTheValidOnes() =>
        AssertError(Errors("steps: [{name: a, kind: sleep}]"), "steps[0].kind",
            "step 'a': kind 'sleep' is unknown", "burn, train, batch-infer, evaluate, profile, serve, gate, set-alias, deploy");

    [Fact]
    public void Validate_MissingKind_IsRequired() =>
        AssertError(Errors("steps: [{name: a}]"), "steps[0].kind", "step 'a': kind is required");

    [Theory]
    [InlineData("''", "name is required")]
    [InlineData("train.v2", "'train.v2' is not a usable step name")]
    [InlineData("-train", "is not a usable step name")]
    public void Validate_UnusableStepName_IsReportedByPlace(string name, string fragment) =>
        AssertError(Errors($"steps: [{{name: {name}, kind: burn, parameters: {{duration: PT1M}}}}]"), "steps[0].name", "steps[0]: ", fragment);

    [Fact]
    public void Validate_DuplicateStepName_NamesTheOther() =>
        AssertError(Errors("""
            steps:
              - {name: a, kind: burn, parameters: {duration: PT1M}}
              - {name: a, kind: burn, parameters: {duration: PT1M}}
            """), "steps[1].name", "step 'a': another step (steps[0]) has the same name");

    [Theory]
    [InlineData("[nope]", "dependsOn names 'nope', which is not a step")]
    [InlineData("[b]", "a step cannot depend on itself")]
    [InlineData("[a, a]", "dependsOn names 'a' twice")]
    public void Validate_BadDependency_IsReported(string dependsOn, string fragment) =>
        AssertError(Errors("""
            steps:
              - {name: a, kind: burn, parameters: {duration: PT1M}}
              - {name: b, kind: burn, parameters: {duration: PT1M}, dependsOn: DEPENDS}
            """.Replace("DEPENDS", dependsOn, StringComparison.Ordinal)), "steps[1].dependsOn", "step 'b': ", fragment);

    [Fact]
    public void Validate_Cycle_NamesTheStepsOnIt()
    {
        var errors = Errors("""
            steps:
              - {name: a, kind: burn, parameters: {duration: PT1M}, dependsOn: [c]}
              - {name: b, kind: burn, parameters: {duration: PT1M}, dependsOn: [a]}
              - {name: c, kind: burn, parameters: {duration: PT1M}, dependsOn: [b]}
              - {name: d, kind: burn, parameters: {duration: PT1M}, dependsOn: [c]}
              - {name: e, kind: burn, parameters: {duration: PT1M}, dependsOn: [e]}
            """);

        AssertError(errors, "steps[0].dependsOn", "step 'a' is on a dependency cycle: a -> c -> b -> a");
        Assert.DoesNotContain(errors, e => e.Value.Any(m => m.Contains("step 'd'", StringComparison.Ordinal)));
        AssertError(errors, "steps[4].dependsOn", "step 'e': a step cannot depend on itself");
        Assert.Equal(2, errors.Count);
    }

    [Fact]
    public void Validate_WhenThatDoesNotParse_NamesThePosition() =>
        AssertError(Errors("""
            steps:
              - {name: check, kind: gate, when: "steps.x.status = 'y'"}
            """), "steps[0].when", "step 'check': when at position 16:", "==");

    [Fact]
    public void Validate_TemplateThatDoesNotParse_IsReportedOnItsParameter() =>
        AssertError(Errors("""
            steps:
              - {name: work, kind: burn, parameters: {duration: "${{ parameters.d"}}
            """), "steps[0].parameters.duration", "step 'work': parameter 'duration' at position 1:", "not closed");

    [Fact]
    public void Validate_UnknownParameter_IsReported()
    {
        var errors = Errors("""
            parameters: {d: PT1M}
            steps:
              - {name: work, kind: burn, parameters: {duration: "${{ parameters.duration }}"}, when: "parameters.go == 'yes'"}
            """);
        AssertError(errors, "steps[0].parameters.duration", "step 'work': parameter 'duration' refers to parameters.duration, but the pipeline declares no parameter 'duration'");
        AssertError(errors, "steps[0].when", "step 'work': when refers to parameters.go, but the pipeline declares no parameter 'go'");
    }

    [Fact]
    public void Validate_ReferenceToAStepThatIsNotAnAncestor_IsReported()
    {
        var errors = Errors("""
            steps:
              - {name: a, kind: burn, parameters: {duration: PT1M}}
              - {name: b, kind: burn, parameters: {duration: PT1M}}
              - name: c
                kind: burn
                dependsOn: [a]
                parameters: {duration: PT1M}
                when: "steps.b.status == 'succeeded' && steps.a.status == 'succeeded'"
              - name: d
                kind: burn
                dependsOn: [c]
                parameters: {duration: "${{ steps.d.outputs.x }}", threads: "${{ steps.nope.metrics.y }}"}
                when: "steps.a.status == 'succeeded' && steps.e.status == 'succeeded'"
              - {name: e, kind: burn, parameters: {duration: PT1M}, dependsOn: [d]}
            """);

        AssertError(errors, "steps[2].when", "step 'c': when refers to steps.b.status, but 'b' is not a step that 'c' depends on (directly or through other steps)");
        Assert.Single(errors["steps[2].when"]);
        AssertError(errors, "steps[3].parameters.duration", "step 'd': parameter 'duration' refers to steps.d.outputs.x, but a step cannot read its own results");
        AssertError(errors, "steps[3].parameters.threads", "step 'd': parameter 'threads' refers to steps.nope.metrics.y, but there is no step 'nope'");
        AssertError(errors, "steps[3].when", "refers to steps.e.status, but 'e' is not a step that 'd' depends on");
        Assert.Single(errors["steps[3].when"]);
        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void Validate_ReferenceToATransitiveAncestor_IsAccepted() =>
        Valid(ReadYaml("""
            steps:
              - {name: a, kind: burn, parameters: {duration: PT1M}}
              - {name: b, kind: burn, parameters: {duration: PT1M}, dependsOn: [a]}
              - {name: c, kind: gate, dependsOn: [b], when: "steps.a.sustainability.energyJoules < 100 && steps.a.metrics.x.y > 0"}
            """));

    [Theory]
    [InlineData("{name: check, kind: gate}")]
    [InlineData("{name: check, kind: gate, when: ' '}")]
    public void Validate_GateWithoutWhen_IsReported(string step) =>
        AssertError(Errors($"steps: [{step}]"), "steps[0].when", "step 'check': a gate needs a when");

    [Fact]
    public void Validate_GateWithParametersOrJobFields_IsReported()
    {
        var errors = Errors("steps: [{name: check, kind: gate, when: 'true', parameters: {x: 1}, resources: {gpus: 1}, carbonBudgetGrams: 3}]");
        AssertError(errors, "steps[0].parameters", "step 'check': a gate takes no parameters");
        AssertError(errors, "steps[0].resources", "step 'check': a gate step runs in the control plane, not on an agent, and takes no resources");
        AssertError(errors, "steps[0].carbonBudgetGrams", "takes no carbonBudgetGrams");
    }

    [Fact]
    public void Validate_SetAliasWithoutModelOrAlias_IsReported()
    {
        var errors = Errors("steps: [{name: promote, kind: set-alias, parameters: {version: 3}}]");
        AssertError(errors, "steps[0].parameters.model", "step 'promote': model is required");
        AssertError(errors, "steps[0].parameters.alias", "step 'promote': alias is required");
        AssertError(errors, "steps[0].parameters.version", "set-alias takes only model and alias");
    }

    [Fact]
    public void Validate_SetAliasWithBadValues_IsReported()
    {
        var errors = Errors("steps: [{name: promote, kind: set-alias, parameters: {model: credit/3, alias: 1st}}]");
        AssertError(errors, "steps[0].parameters.model", "step 'promote': model must be models:/NAME/VERSION or models:/NAME@ALIAS");
        AssertError(errors, "steps[0].parameters.alias", "alias is 1 to 64 letters");
    }

    [Fact]
    public void Validate_DeployWithoutDeploymentOrModel_IsReported()
    {
        var errors = Errors("steps: [{name: rollout, kind: deploy, parameters: {strategy: canary}}]");
        AssertError(errors, "steps[0].parameters.deployment", "step 'rollout': deployment is required");
        AssertError(errors, "steps[0].parameters.model", "step 'rollout': model is required");
    }

    [Fact]
    public void Validate_JobParameters_CheckedByTheKind() =>
        AssertError(Errors("steps: [{name: train, kind: train, parameters: {dataset: credit, task: binary, trainer: sdca, colour: red}}]"),
            "steps[0].parameters.label", "step 'train': label is required");

    [Fact]
    public void Validate_JobParameters_UnknownOneReported() =>
        AssertError(Errors("steps: [{name: train, kind: train, parameters: {dataset: credit, label: y, task: binary, colour: red}}]"),
            "steps[0].parameters.colour", "step 'train': train does not take 'colour'");

    [Fact]
    public void Validate_TemplatedJobParameters_AreCheckedAtRunTimeNotNow()
    {
        Valid(ReadYaml("""
            parameters: {task: null}
            steps:
              - {name: train, kind: train, parameters: {dataset: credit, label: y, task: "${{ parameters.task }}", trainer: lightgbm}}
            """));
        AssertError(Errors("""
            parameters: {task: null}
            steps:
              - {name: train, kind: train, parameters: {dataset: credit, label: y, task: binary, validationFraction: "2"}}
            """), "steps[0].parameters.validationFraction", "validationFraction must be a number between 0 and 1");
    }

    [Theory]
    [InlineData("deadline: -PT1H", "deadline", "deadline must be a positive ISO 8601 duration")]
    [InlineData("deadline: PT0S", "deadline", "deadline must be a positive ISO 8601 duration")]
    [InlineData("carbonBudgetGrams: 0", "carbonBudgetGrams", "carbonBudgetGrams must be a positive number")]
    [InlineData("energyBudgetJoules: -5", "energyBudgetJoules", "energyBudgetJoules must be a positive number")]
    [InlineData("parameters: {a.b: x}", "parameters.a.b", "parameter 'a.b': a name is 1 to 128")]
    public void Validate_PipelineFieldOutOfBounds_IsReported(string field, string key, string fragment) =>
        AssertError(Errors($"{field}\nsteps: [{{name: work, kind: burn, parameters: {{duration: PT1M}}}}]"), key, fragment);

    [Theory]
    [InlineData("retries: 6", "steps[0].retries", "retries must be a whole number from 0 to 5")]
    [InlineData("retries: -1", "steps[0].retries", "retries must be a whole number from 0 to 5")]
    [InlineData("estimatedDuration: PT0S", "steps[0].estimatedDuration", "estimatedDuration must be a positive")]
    [InlineData("estimatedDuration: -PT5M", "steps[0].estimatedDuration", "estimatedDuration must be a positive")]
    [InlineData("estimatedPowerWatts: 0", "steps[0].estimatedPowerWatts", "estimatedPowerWatts must be above 0 and at most 100000 W")]
    [InlineData("estimatedPowerWatts: 100001", "steps[0].estimatedPowerWatts", "at most 100000 W")]
    [InlineData("resources: {cpuCores: 4097}", "steps[0].resources", "0-4096 cpuCores")]
    [InlineData("resources: {gpus: 65}", "steps[0].resources", "0-64 gpus")]
    [InlineData("resources: {memoryBytes: -1}", "steps[0].resources", "non-negative memoryBytes")]
    [InlineData("carbonBudgetGrams: 0", "steps[0].carbonBudgetGrams", "carbonBudgetGrams must be a positive number")]
    [InlineData("energyBudgetJoules: -1", "steps[0].energyBudgetJoules", "energyBudgetJoules must be a positive number")]
    [InlineData("placement: {zones: ['']}", "steps[0].placement.zones", "none empty")]
    public void Validate_StepFieldOutOfBounds_IsReportedNamingTheStep(string field, string key, string fragment) =>
        AssertError(Errors($"steps:\n  - name: work\n    kind: burn\n    parameters: {{duration: PT1M}}\n    {field}"), key, "step 'work': ", fragment);

    [Fact]
    public void Validate_TooManyParameters_IsReported()
    {
        var many = string.Join(", ", Enumerable.Range(0, PipelineValidator.MaxParameters + 1).Select(i => $"p{i}: x"));
        var errors = Errors($"parameters: {{{many}}}\nsteps: [{{name: work, kind: gate, when: 'true', parameters: {{{many}}}}}]");
        AssertError(errors, "parameters", "at most 64 parameters");
        AssertError(errors, "steps[0].parameters", "step 'work': a step takes at most 64 parameters");
    }
}
