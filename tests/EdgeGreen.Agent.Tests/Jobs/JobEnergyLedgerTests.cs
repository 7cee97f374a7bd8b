using EdgeGreen.Agent.Jobs;
using EdgeGreen.Agent.Sensors;

namespace EdgeGreen.Agent.Tests.Jobs;

public sealed class JobEnergyLedgerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Record_SplitsEachSampleByReservedCores_SoThePartsAddUpToTheNode()
    {
        var ledger = new JobEnergyLedger();
        ledger.Start("small", cpuCores: 1);
        ledger.Start("large", cpuCores: 3);

        ledger.Record([Delta("cpu.package", 30), Delta("dram", 10)]);
        var small = ledger.Stop("small");
        ledger.Record([Delta("cpu.package", 8)]);

        Assert.Equal(10, small.EnergyJoules, 9);
        Assert.Equal(30 + 8, ledger.Read("large").EnergyJoules, 9);
        Assert.Equal(EnergyProvenance.Measured, small.Provenance);
    }

    [Fact]
    public void Record_WithNoJobRunning_AttributesNothing_AndAModelledSampleMakesTheJobModelled()
    {
        var ledger = new JobEnergyLedger();
        ledger.Record([Delta("cpu.package", 50)]);
        ledger.Start("j", cpuCores: 0);

        ledger.Record([Delta("cpu.package", 5), Delta("cpu.package", 5, EnergyProvenance.Modelled)]);

        var energy = ledger.Stop("j");
        Assert.Equal(10, energy.EnergyJoules, 9);
        Assert.Equal(EnergyProvenance.Modelled, energy.Provenance);
        Assert.Equal(0, ledger.Read("j").EnergyJoules);
    }

    private static EnergyDelta Delta(string domain, double joules, EnergyProvenance provenance = EnergyProvenance.Measured) =>
        new(domain, Now, TimeSpan.FromSeconds(1), joules, provenance);
}
