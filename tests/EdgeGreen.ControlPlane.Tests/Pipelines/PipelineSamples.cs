using System.Text;
using EdgeGreen.ControlPlane.Core.Pipelines;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

/// <summary>The documented example pipeline, in YAML and in JSON, and helpers to read definitions.</summary>
internal static class PipelineSamples
{
    public const string Yaml = """
        parameters: {dataset: "credit:1", minAuc: "0.75", model: null}
        deadline: PT12H
        carbonBudgetGrams: 50
        energyBudgetJoules: 200000
        steps:
          - name: train
            kind: train
            parameters: {dataset: "${{ parameters.dataset }}", label: default.payment.next.month, task: binary, registerAs: credit}
            cache: true
            retries: 1
            estimatedDuration: PT10M
            estimatedPowerWatts: 30
            resources: {cpuCores: 2, memoryBytes: 0, gpus: 0}
            placement: {agentLabels: {gpu: "true"}, zones: [NO]}
            interruptible: false
            carbonBudgetGrams: 10
            energyBudgetJoules: 5000
          - name: evaluate
            kind: evaluate
            dependsOn: [train]
            parameters: {model: "${{ steps.train.outputs.model }}", dataset: "${{ parameters.dataset }}", label: default.payment.next.month, task: binary}
          - name: good-enough
            kind: gate
            dependsOn: [evaluate]
            when: "steps.evaluate.metrics.auc >= 0.75 && steps.train.sustainability.carbonGrams <= 50"
          - name: promote
            kind: set-alias
            dependsOn: [good-enough]
            parameters: {model: "${{ steps.train.outputs.model }}", alias: champion}
          - name: rollout
            kind: deploy
            dependsOn: [promote]
            parameters: {deployment: credit, model: "models:/credit@champion", strategy: canary}
        """;

    public const string Json = """
        {
          "parameters": {"dataset": "credit:1", "minAuc": "0.75", "model": null},
          "deadline": "PT12H",
          "carbonBudgetGrams": 50,
          "energyBudgetJoules": 200000,
          "steps": [
            {
              "name": "train", "kind": "train",
              "parameters": {"dataset": "${{ parameters.dataset }}", "label": "default.payment.next.month", "task": "binary", "registerAs": "credit"},
              "cache": true, "retries": 1, "estimatedDuration": "PT10M", "estimatedPowerWatts": 30,
              "resources": {"cpuCores": 2, "memoryBytes": 0, "gpus": 0},
              "placement": {"agentLabels": {"gpu": "true"}, "zones": ["NO"]},
              "interruptible": false, "carbonBudgetGrams": 10, "energyBudgetJoules": 5000
            },
            {
              "name": "evaluate", "kind": "evaluate", "dependsOn": ["train"],
              "parameters": {"model": "${{ steps.train.outputs.model }}", "dataset": "${{ parameters.dataset }}", "label": "default.payment.next.month", "task": "binary"}
            },
            {
              "name": "good-enough", "kind": "gate", "dependsOn": ["evaluate"],
              "when": "steps.evaluate.metrics.auc >= 0.75 && steps.train.sustainability.carbonGrams <= 50"
            },
            {
              "name": "promote", "kind": "set-alias", "dependsOn": ["good-enough"],
              "parameters": {"model": "${{ steps.train.outputs.model }}", "alias": "champion"}
            },
            {
              "name": "rollout", "kind": "deploy", "dependsOn": ["promote"],
              "parameters": {"deployment": "credit", "model": "models:/credit@champion", "strategy": "canary"}
            }
          ]
        }
        """;

    public static PipelineReadResult ReadYaml(string yaml) => PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(yaml), "application/yaml");

    public static PipelineReadResult ReadJson(string json) => PipelineDefinitionReader.Read(Encoding.UTF8.GetBytes(json), "application/json");

    public static PipelineDefinition Valid(PipelineReadResult result)
    {
        Assert.True(result.Status == PipelineReadStatus.Valid, string.Join("\n", result.Errors.Select(e => $"{e.Key}: {string.Join(" | ", e.Value)}")));
        return result.Definition!;
    }

    /// <summary>The errors of a definition that must be invalid.</summary>
    public static IReadOnlyDictionary<string, string[]> Invalid(PipelineReadResult result)
    {
        Assert.Equal(PipelineReadStatus.Invalid, result.Status);
        Assert.Null(result.Definition);
        Assert.NotEmpty(result.Errors);
        return result.Errors;
    }

    /// <summary>The one message under <paramref name="key"/>, which must contain every fragment.</summary>
    public static void AssertError(IReadOnlyDictionary<string, string[]> errors, string key, params string[] fragments)
    {
        Assert.True(errors.TryGetValue(key, out var messages), $"no error at '{key}'; errors: {string.Join("; ", errors.Select(e => $"{e.Key}: {string.Join(" | ", e.Value)}"))}");
        var message = string.Join(" | ", messages);
        foreach (var fragment in fragments)
        {
            Assert.Contains(fragment, message, StringComparison.Ordinal);
        }
    }
}
