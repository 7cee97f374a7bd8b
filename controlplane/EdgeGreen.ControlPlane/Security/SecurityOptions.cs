namespace EdgeGreen.ControlPlane.Security;

public sealed class SecurityOptions
{
    public const string SectionName = "EdgeGreen:Security";

    /// <summary>
    /// Where the key ring that encrypts secrets at rest (webhook signing secrets) is kept, apart
    /// from the database; <c>&lt;DataDirectory&gt;/keys</c> when unset. A backup of the database
    /// without it loses those secrets, and replicas must share it.
    /// </summary>
    public string? KeyDirectory { get; set; }

    public string KeyDirectoryOrDefault(StorageOptions storage) =>
        string.IsNullOrWhiteSpace(KeyDirectory) ? Path.Combine(storage.DataDirectory, "keys") : KeyDirectory;
}
