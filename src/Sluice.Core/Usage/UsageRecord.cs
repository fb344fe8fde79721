using Sluice.Core.Billing;

namespace Sluice.Core.Usage;

/// <summary>One call in the ledger: who, from where, which model, what it used and cost. Written exactly once
/// per <see cref="RequestId"/>.</summary>
public sealed record UsageRecord
{
    public required string RequestId { get; init; }

    public required DateTimeOffset Time { get; init; }

    public required string KeyId { get; init; }

    public required string ClientIp { get; init; }

    /// <summary>The model asked for; empty when the call named none.</summary>
    public required string Model { get; init; }

    /// <summary>The path called, e.g. <c>/v1/chat/completions</c>.</summary>
    public required string Endpoint { get; init; }

    /// <summary>The status the client got (499: the client left; 502/504: the upstream failed).</summary>
    public required int Status { get; init; }

    public long PromptTokens { get; init; }

    public long CachedTokens { get; init; }

    public long CompletionTokens { get; init; }

    public Money Cost { get; init; }

    public int LatencyMs { get; init; }

    public bool Streamed { get; init; }

    public UsageOutcome Outcome { get; init; }

    /// <summary>Where the token counts came from.</summary>
    public UsageSource Source { get; init; }

    /// <summary>For a prepaid call, the amount held at admission: writing the record settles it to <see cref="Cost"/>.</summary>
    public Money? Held { get; init; }
}

public enum UsageOutcome
{
    /// <summary>The upstream answered (whatever its status) and the client received it all.</summary>
    Completed,

    /// <summary>The client went away before the answer was complete; billed for what was sent.</summary>
    ClientAborted,

    /// <summary>The upstream failed (5xx, unreachable, timeout); given back to every limit, costs nothing.</summary>
    UpstreamFailed,
}

public enum UsageSource
{
    /// <summary>The upstream's own <c>usage</c>.</summary>
    Upstream,

    /// <summary>Counted by Sluice with the model's tokenizer (no usage from the upstream).</summary>
    Tokenizer,

    /// <summary>Nothing to count (no model, or a call that is not metered).</summary>
    None,
}
