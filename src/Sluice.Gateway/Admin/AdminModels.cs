using System.Text.Json.Serialization;
using Sluice.Core.Keys;
using Sluice.Core.Limits;

namespace Sluice.Gateway.Admin;

/// <summary>The body of <c>POST /admin/keys</c>.</summary>
public sealed record CreateKeyRequest(string? Name, string? Plan);

/// <summary>A change to a key: a new name, a new plan, or both (a field left out stays as it is).</summary>
public sealed record UpdateKeyRequest(string? Name, string? Plan);

/// <summary>A new key, with its secret: the only time the secret is shown.</summary>
public sealed record CreatedKey(string Id, string Key, string Name, string Plan, long Created, string Display)
{
    [JsonPropertyName("object")]
    public string ObjectType { get; init; } = "api_key";
}

/// <summary>A key as the admin API lists it: never the secret.</summary>
public sealed record KeyView(string Id, string Name, string Plan, string Display, long Created, long? Revoked)
{
    [JsonPropertyName("object")]
    public string ObjectType { get; init; } = "api_key";

    public static KeyView From(ApiKey key) =>
        new(key.Id, key.Name, key.Plan, key.Display, key.Created.ToUnixTimeSeconds(), key.Revoked?.ToUnixTimeSeconds());
}

public sealed record KeyList(IReadOnlyList<KeyView> Data)
{
    [JsonPropertyName("object")]
    public string ObjectType { get; init; } = "list";
}

/// <summary>One key with the state of its per-key limits.</summary>
public sealed record KeyDetails(string Id, string Name, string Plan, string Display, long Created, long? Revoked, IReadOnlyList<LimitUsage> Usage)
{
    [JsonPropertyName("object")]
    public string ObjectType { get; init; } = "api_key";
}

/// <summary>One limit's state: used and limit in the window, and when room returns.</summary>
public sealed record LimitUsage(string Name, string Scope, int Used, int Limit, int Remaining, long WindowSeconds, long ResetSeconds, DateTimeOffset? ResetAt)
{
    public static LimitUsage From(CounterState state, DateTimeOffset now, long waitMs) =>
        new(state.Policy.Name, state.Policy.Subject == LimitSubject.Key ? "key" : "ip", state.Used, state.Limit, state.Remaining,
            state.Policy.WindowMs / 1000, (waitMs + 999) / 1000, waitMs > 0 ? now.AddMilliseconds(waitMs) : null);
}

/// <summary>The body of <c>POST /admin/keys/{id}/credit</c>.</summary>
public sealed record CreditRequest(decimal? AmountUsd, string? Note);

/// <summary>A key's balance with its newest changes.</summary>
/// <summary>A key's balance. <c>billing</c> is how its plan pays (<c>free</c>, <c>prepaid</c>, <c>unlimited</c>): only a
/// prepaid plan draws the balance down, so a credit on another plan waits until the key moves to a prepaid one.</summary>
public sealed record BalanceView(string KeyId, string Plan, string Billing, decimal BalanceUsd, decimal HeldUsd, decimal AvailableUsd, IReadOnlyList<BalanceChangeView> History);

public sealed record BalanceChangeView(long Id, DateTimeOffset Time, string Kind, decimal AmountUsd, decimal BalanceAfterUsd, string? RequestId, string? Note);

/// <summary>Usage rows grouped by UTC day, key and model, with totals.</summary>
public sealed record UsageReport(DateTimeOffset Since, DateTimeOffset Until, IReadOnlyList<UsageRow> Data, UsageTotals Totals)
{
    [JsonPropertyName("object")]
    public string ObjectType { get; init; } = "list";
}

/// <summary>Usage of one day, key and model: <c>requests</c> is every call in the ledger, <c>failed</c> those the upstream
/// failed (given back to the limits, costing nothing).</summary>
public sealed record UsageRow(string Day, string KeyId, string Model, long Requests, long Failed, long PromptTokens, long CachedTokens, long CompletionTokens, decimal CostUsd);

public sealed record UsageTotals(long Requests, long Failed, long PromptTokens, long CachedTokens, long CompletionTokens, decimal CostUsd);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(CreatedKey))]
[JsonSerializable(typeof(UpdateKeyRequest))]
[JsonSerializable(typeof(KeyView))]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(KeyDetails))]
[JsonSerializable(typeof(CreditRequest))]
[JsonSerializable(typeof(BalanceView))]
[JsonSerializable(typeof(UsageReport))]
public sealed partial class AdminJsonContext : JsonSerializerContext;
