namespace Sluice.Gateway.Admin;

/// <summary>The admin API (<c>Sluice:Admin</c>).</summary>
public sealed class AdminOptions
{
    public const string Section = "Sluice:Admin";

    /// <summary>The bearer token admin calls must carry (--admin-token). When empty, one is generated on first
    /// start and kept in <c>&lt;data-dir&gt;/admin-token</c>, readable by its owner only.</summary>
    public string? Token { get; set; }
}
