namespace EdgeGreen.ControlPlane.Security;

/// <summary>Authorization policies. Roles nest: an admin may do what an operator may, an operator what a viewer may.</summary>
public static class Policies
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";
    public const string Agent = "agent";
}
