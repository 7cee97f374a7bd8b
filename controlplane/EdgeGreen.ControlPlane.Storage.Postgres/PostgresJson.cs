using System.Text.Json;
using System.Text.Json.Serialization;

namespace EdgeGreen.ControlPlane.Storage.Postgres;

/// <summary>
/// How records become <c>jsonb</c> bodies: System.Text.Json with enums by name, as the LiteDB
/// provider writes its JSON bodies, so that a body reads the same whichever store wrote it.
/// </summary>
internal static class PostgresJson
{
    private static readonly JsonSerializerOptions Options = new() { Converters = { new JsonStringEnumConverter() } };

    public static string Write<T>(T value) => JsonSerializer.Serialize(value, Options);

    /// <exception cref="StorageException">The stored body is not a <typeparamref name="T"/> (damaged data).</exception>
    public static T Read<T>(string json, string what)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, Options) ?? throw new JsonException("the body is null");
        }
        catch (JsonException ex)
        {
            throw new StorageException(StorageFault.Corrupt, $"The stored {what} cannot be read: {ex.Message}", ex);
        }
    }
}
