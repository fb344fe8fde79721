namespace Sluice.FakeUpstream;

/// <summary>How a <see cref="FakeUpstreamServer"/> behaves. Every property except <see cref="Port"/> is read
/// per request, so a test may change it while the server runs.</summary>
public sealed class FakeUpstreamOptions
{
    /// <summary>Port on 127.0.0.1 (the only address the fake binds); 0 picks a free port.</summary>
    public int Port { get; set; }

    /// <summary>When set, every request except <c>/_fake/*</c> must carry <c>Authorization: Bearer &lt;key&gt;</c>,
    /// else it gets OpenAI's 401 <c>invalid_api_key</c> body.</summary>
    public string? ExpectedApiKey { get; set; }

    /// <summary>Delay before the response headers, on every endpoint except <c>/_fake/*</c>.</summary>
    public TimeSpan Latency { get; set; }

    /// <summary>Delay between two server-sent events of a stream.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Words in a reply (one word = one completion token = one stream chunk), capped by the request's
    /// <c>max_tokens</c> / <c>max_completion_tokens</c>.</summary>
    public int ReplyWords { get; set; } = 8;

    /// <summary>No per-request line on the console.</summary>
    public bool Quiet { get; set; } = true;

    /// <summary>Keep the requests (headers and body) for <see cref="FakeUpstreamServer.Requests"/>. Only the newest
    /// <see cref="FakeUpstreamServer.MaxRecordedRequests"/> are kept. Counters are kept either way.</summary>
    public bool RecordRequests { get; set; } = true;

    /// <summary>Serve HTTPS (HTTP/1.1 and HTTP/2, chosen by ALPN, as api.openai.com does) with a self-signed certificate
    /// made at start for <c>127.0.0.1</c> and <c>localhost</c>; see <see cref="FakeUpstreamServer.CertificatePem"/>.
    /// Read once, at start.</summary>
    public bool Https { get; set; }

    /// <summary>Gzip every JSON answer, even for a client that did not ask for it (or asked for <c>identity</c>):
    /// an upstream that does not listen.</summary>
    public bool CompressAlways { get; set; }
}
