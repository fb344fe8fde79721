namespace Sluice.Gateway.Inspection;

/// <summary>What clients may send through the relay (<c>Sluice:Relay</c>).</summary>
public sealed class RelayOptions
{
    public const string Section = "Sluice:Relay";

    /// <summary>
    /// The OpenAI endpoints relayed when <see cref="Endpoints"/> is not configured: inference and the model list.
    /// Everything else of the upstream account (files, batches, fine-tuning, assistants, the organization) stays
    /// out of reach of the keys' holders.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultEndpoints =
    [
        "POST /v1/chat/completions",
        "POST /v1/completions",
        "POST /v1/embeddings",
        "POST /v1/moderations",
        "POST /v1/responses",
        "GET /v1/models",
        "GET /v1/models/*",
    ];

    /// <summary>The largest JSON request body accepted, in bytes (32 MiB by default).</summary>
    public long MaxRequestBodyBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>
    /// <c>METHOD /v1/path</c> entries that are relayed (a final <c>/*</c> stands for any one more segment); any other
    /// call under <c>/v1/</c> gets OpenAI's 404 "Invalid URL" without reaching the upstream or being counted.
    /// Null: <see cref="DefaultEndpoints"/>.
    /// </summary>
    public string[]? Endpoints { get; set; }
}
