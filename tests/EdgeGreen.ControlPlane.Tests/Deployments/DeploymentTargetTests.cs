using EdgeGreen.ControlPlane.Core.Deployments;

namespace EdgeGreen.ControlPlane.Tests.Deployments;

/// <summary>Which agents a deployment's target names: a rule of its own, with no store behind it.</summary>
public sealed class DeploymentTargetTests
{
    [Fact]
    public void DeploymentTarget_IncludesNamedAgentsAndThoseMatchingLabelsAndZones_AndAnEmptyTargetNoOne()
    {
        var labels = new Dictionary<string, string> { ["site"] = "lab", ["gpu"] = "true" };
        Assert.True(new DeploymentTarget(new Dictionary<string, string>(), [], ["a1"]).Includes("a1", "ES", labels));
        Assert.False(new DeploymentTarget(new Dictionary<string, string>(), [], ["a1"]).Includes("a2", "ES", labels));
        Assert.True(new DeploymentTarget(new Dictionary<string, string> { ["site"] = "lab" }, ["ES"], []).Includes("a2", "ES", labels));
        Assert.False(new DeploymentTarget(new Dictionary<string, string> { ["site"] = "lab" }, ["NO"], []).Includes("a2", "ES", labels));
        Assert.False(new DeploymentTarget(new Dictionary<string, string> { ["site"] = "edge" }, [], []).Includes("a2", "ES", labels));
        Assert.False(new DeploymentTarget(new Dictionary<string, string>(), [], []).Includes("a2", "ES", labels));
    }
}
