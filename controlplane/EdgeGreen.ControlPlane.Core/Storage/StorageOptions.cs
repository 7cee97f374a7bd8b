using System.ComponentModel.DataAnnotations;

namespace EdgeGreen.ControlPlane.Core.Storage;

public enum StorageProvider
{
    /// <summary>One LiteDB file in the data directory: the embedded default for one control plane.</summary>
    LiteDb,

    /// <summary>PostgreSQL at <c>ConnectionStrings:EdgeGreen</c>: for large fleets and several replicas.</summary>
    Postgres,
}

/// <summary>Whether the PostgreSQL provider moves raw readings into a TimescaleDB hypertable where the extension is installed.</summary>
public enum TimescaleDbUse
{
    /// <summary>Where TimescaleDB is installed in the database, raw readings go into a hypertable (moved there at the next start).</summary>
    Auto,

    /// <summary>Native day partitions even where TimescaleDB is installed (a table already made a hypertable stays one).</summary>
    Off,
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

    /// <summary>With <c>Postgres</c>: whether raw readings move into a TimescaleDB hypertable where the extension is installed.</summary>
    [EnumDataType(typeof(TimescaleDbUse), ErrorMessage = "EdgeGreen:Storage:TimescaleDb must be Auto or Off.")]
    public TimescaleDbUse TimescaleDb { get; set; } = TimescaleDbUse.Auto;
}
