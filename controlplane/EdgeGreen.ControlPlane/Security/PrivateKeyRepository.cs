using System.Xml.Linq;
using EdgeGreen.Shared;
using Microsoft.AspNetCore.DataProtection.Repositories;

namespace EdgeGreen.ControlPlane.Security;

/// <summary>
/// Data Protection's key ring as files in one directory, as the framework keeps it, except that
/// each key file is made 0600: the framework's repository leaves its files to the process's umask.
/// </summary>
internal sealed class PrivateKeyRepository(DirectoryInfo directory, ILoggerFactory loggers) : IXmlRepository
{
    private readonly FileSystemXmlRepository _files = new(directory, loggers);

    public IReadOnlyCollection<XElement> GetAllElements() => _files.GetAllElements();

    public void StoreElement(XElement element, string friendlyName)
    {
        _files.StoreElement(element, friendlyName);
        // Every key file, since the framework may store under another name than the friendly one.
        foreach (var file in directory.EnumerateFiles("*.xml"))
        {
            PrivateFile.Restrict(file.FullName);
        }
    }
}
