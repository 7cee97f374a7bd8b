using System.ComponentModel.DataAnnotations;

namespace EdgeGreen.ControlPlane.Core.Storage;

public enum StorageProvider
{
    /// <summary>One LiteDB file in the data directory: the embedded default for one control plane.</summary>
    LiteDb,

    /// <summary>PostgreSQL at <c>ConnectionStrings:EdgeGreen</c>: for large fleets and several replicas.</summary>
    Postgres,
}

public sealed class StorageOptions
{
    public const string SectionName = "EdgeGreen:Storage";

    /// <summary>Where the embedded database, the admin key, content and the local agent's files live.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "EdgeGreen:Storage:DataDirectory must name a directory.")]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Which database holds the control plane's records: <c>LiteDb</c> (default) or <c>Postgres</c>.</summary>
    [EnumDataType(typeof(StorageProvider), ErrorMessage = "EdgeGreen:Storage:Provider must be LiteDb or Postgres.")]
    public StorageProvider Provider { get; set; } = StorageProvider.LiteDb;
}
