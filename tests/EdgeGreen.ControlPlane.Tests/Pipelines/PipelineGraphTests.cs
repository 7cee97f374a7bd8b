using EdgeGreen.ControlPlane.Core.Pipelines;
using static EdgeGreen.ControlPlane.Tests.Pipelines.PipelineSamples;

namespace EdgeGreen.ControlPlane.Tests.Pipelines;

public sealed class PipelineGraphTests
{
    private static PipelineDefinition Definition(string steps) => Valid(ReadYaml($"steps:\n{steps}"));

    [Fact]
    public void Order_DependenciesFirst_OtherwiseAsDefined()
    {
        var graph = PipelineGraph.Create(Definition("""
              - {name: report, kind: burn, parameters: {duration: PT1M}, dependsOn: [evaluate, profile]}
              - {name: evaluate, kind: burn, parameters: {duration: PT1M}, dependsOn: [train]}
              - {name: profile, kind: burn, parameters: {duration: PT1M}}
              - {name: train, kind: burn, parameters: {duration: PT1M}}
            """));

        Assert.Equal(["profile", "train", "evaluate", "report"], graph.Order.Select(s => s.Name));
    }

    [Fact]
    public void AncestorsOf_Step_IsEveryStepItDependsOnTransitively()
    {
        var graph = PipelineGraph.Create(Valid(ReadYaml(Yaml)));

        Assert.Equal(["evaluate", "good-enough", "train"], graph.AncestorsOf("promote").Order(StringComparer.Ordinal));
        Assert.Empty(graph.AncestorsOf("train"));
        Assert.Throws<ArgumentException>(() => graph.AncestorsOf("nope"));
    }

    [Fact]
    public void Create_Cycle_Throws()
    {
        var cyclic = Valid(ReadYaml(Yaml)) is var d ? d with { Steps = [d.Steps[0] with { DependsOn = ["rollout"] }, .. d.Steps.Skip(1)] } : null!;

        Assert.Contains("train -> rollout -> promote -> good-enough -> evaluate -> train", Assert.Throws<ArgumentException>(() => PipelineGraph.Create(cyclic)).Message,
            StringComparison.Ordinal);
        Assert.NotEmpty(PipelineValidator.Validate(cyclic));
    }
}
