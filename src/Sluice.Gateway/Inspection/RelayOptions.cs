namespace Sluice.Gateway.Inspection;

/// <summary>Limits on what clients may send through the relay (<c>Sluice:Relay</c>).</summary>
public sealed class RelayOptions
{
    public const string Section = "Sluice:Relay";

    /// <summary>The largest JSON request body accepted, in bytes (32 MiB by default).</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;
}
