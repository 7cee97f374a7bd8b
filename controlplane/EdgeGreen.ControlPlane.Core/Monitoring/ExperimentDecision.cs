namespace EdgeGreen.ControlPlane.Core.Monitoring;

/// <summary>Where an experiment stands; every value but <see cref="Continue"/> may stop it.</summary>
public enum ExperimentDecision
{
    /// <summary>The evidence does not yet settle the question.</summary>
    Continue,

    /// <summary>The confidence sequence lies wholly on the treatment's better side of zero (and its carbon is within the allowance).</summary>
    TreatmentBetter,

    /// <summary>The confidence sequence lies wholly on the control's better side of zero.</summary>
    ControlBetter,

    /// <summary>The confidence sequence lies wholly inside ±MDE: whatever difference there is, it is smaller than the one that matters.</summary>
    NoDifference,

    /// <summary>The treatment is better on the metric but costs more extra carbon per 1,000 requests than allowed: keep the control.</summary>
    TreatmentTooCostly,
}
