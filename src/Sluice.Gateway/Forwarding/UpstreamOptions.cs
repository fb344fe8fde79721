namespace Sluice.Gateway.Forwarding;

/// <summary>The upstream provider every call is forwarded to (<c>Sluice:Upstream</c>).</summary>
public sealed class UpstreamOptions
{
    public const string Section = "Sluice:Upstream";

    /// <summary>The provider's base URL; the client's path (<c>/v1/…</c>) and query are appended (--upstream).</summary>
    public string BaseUrl { get; set; } = "https://api.openai.com";

    /// <summary>The operator's provider key, sent in place of the client's key (--upstream-key). Never logged.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A file of certificates (PEM, or one DER certificate) that an https:// upstream's certificate must chain to,
    /// in place of the system's trust store: for a self-hosted provider behind an internal CA or with a self-signed
    /// certificate (--upstream-ca). Null: the system's trust store.</summary>
    public string? CaCertificate { get; set; }

    /// <summary>How long the upstream may stay silent (no headers, no bytes of a stream) before the call fails with 504.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long to wait for a connection to the upstream before failing with 502.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the answer of <c>GET /v1/models</c> is reused.</summary>
    public TimeSpan ModelsCacheDuration { get; set; } = TimeSpan.FromMinutes(1);
}
