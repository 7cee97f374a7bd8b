namespace EdgeGreen.ControlPlane.Storage;

/// <summary>How many records of one kind the source holds, and how many of them the target holds after the copy.</summary>
public sealed record CopiedCount(string Kind, long Source, long Target);

/// <summary>
/// What a <see cref="StorageCopy"/> did: nothing when it was refused (<see cref="Refusal"/> says
/// why); otherwise the counts per kind, what the verification found wrong (<see cref="Mismatches"/>)
/// and where the target rightly differs from the source (<see cref="Warnings"/>): above all what the
/// source holds that the store interfaces cannot give the target (rollups of deleted readings).
/// </summary>
public sealed record StorageCopyResult(
    string? Refusal,
    IReadOnlyList<CopiedCount> Counts,
    IReadOnlyList<string> Mismatches,
    IReadOnlyList<string> Warnings)
{
    public bool Refused => Refusal is not null;

    /// <summary>Copied, and the target holds what the source held, apart from what <see cref="Warnings"/> names.</summary>
    public bool Verified => !Refused && Mismatches.Count == 0;

    public static StorageCopyResult Refuse(string reason) => new(reason, [], [], []);
}
