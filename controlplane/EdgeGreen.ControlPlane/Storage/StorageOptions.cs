using System.ComponentModel.DataAnnotations;

namespace EdgeGreen.ControlPlane.Storage;

public sealed class StorageOptions
{
    public const string SectionName = "EdgeGreen:Storage";

    /// <summary>Where the embedded database, the admin key and the local agent's files live.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "EdgeGreen:Storage:DataDirectory must name a directory.")]
    public string DataDirectory { get; set; } = "data";
}
