using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace EdgeGreen.Agent.Serving;

/// <summary>A loaded version of a deployment and the percent of its requests it answers.</summary>
public sealed record WeightedModel(ServedModel Model, int Weight);

/// <summary>
/// How a deployment's requests reach its versions: each request key falls in one bucket of
/// 0 to (sum of weights − 1) by a stable hash (the first 8 bytes of its UTF-8 SHA-256, big-endian,
/// modulo the sum), and the versions own consecutive ranges of buckets in their order, each as wide
/// as its weight. One key therefore always reaches the same version while the weights stand, on
/// every agent and across restarts. With weights that add up to 0 the versions share equally.
/// </summary>
public sealed record DeploymentRoute(IReadOnlyList<WeightedModel> Versions)
{
    /// <summary>The version for <paramref name="key"/>; without a key, the version of the highest weight.</summary>
    public ServedModel Choose(string? key)
    {
        if (Versions.Count == 1 || key is null)
        {
            return Versions.MaxBy(v => v.Weight)!.Model;
        }

        var equal = Versions.Sum(v => Math.Max(0, v.Weight)) == 0;
        var weights = Versions.Select(v => equal ? 1 : Math.Max(0, v.Weight)).ToList();
        var bucket = Bucket(key, weights.Sum());
        for (var i = 0; i < weights.Count; i++)
        {
            if (bucket < weights[i])
            {
                return Versions[i].Model;
            }

            bucket -= weights[i];
        }

        return Versions[^1].Model;
    }

    /// <summary>The key's bucket in 0 to <paramref name="buckets"/> − 1.</summary>
    public static int Bucket(string key, int buckets)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(buckets);
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return (int)(BinaryPrimitives.ReadUInt64BigEndian(hash) % (ulong)buckets);
    }
}
