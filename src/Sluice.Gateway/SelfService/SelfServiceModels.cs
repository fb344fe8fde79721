using System.Text.Json.Serialization;

namespace Sluice.Gateway.SelfService;

/// <summary>OpenAI's legacy <c>GET /v1/dashboard/billing/subscription</c>, as chat clients read it.</summary>
public sealed record BillingSubscription(
    [property: JsonPropertyName("object")] string ObjectType,
    [property: JsonPropertyName("has_payment_method")] bool HasPaymentMethod,
    [property: JsonPropertyName("canceled")] bool Canceled,
    [property: JsonPropertyName("access_until")] long AccessUntil,
    [property: JsonPropertyName("soft_limit_usd")] decimal SoftLimitUsd,
    [property: JsonPropertyName("hard_limit_usd")] decimal HardLimitUsd,
    [property: JsonPropertyName("system_hard_limit_usd")] decimal SystemHardLimitUsd,
    [property: JsonPropertyName("plan")] BillingPlan Plan,
    [property: JsonPropertyName("account_name")] string AccountName);

public sealed record BillingPlan([property: JsonPropertyName("title")] string Title, [property: JsonPropertyName("id")] string Id);

/// <summary>OpenAI's legacy <c>GET /v1/dashboard/billing/usage</c>: costs in cents.</summary>
public sealed record BillingUsage(
    [property: JsonPropertyName("object")] string ObjectType,
    [property: JsonPropertyName("daily_costs")] IReadOnlyList<DailyCost> DailyCosts,
    [property: JsonPropertyName("total_usage")] decimal TotalUsage);

public sealed record DailyCost([property: JsonPropertyName("timestamp")] double Timestamp, [property: JsonPropertyName("line_items")] IReadOnlyList<LineItem> LineItems);

public sealed record LineItem([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("cost")] decimal Cost);

/// <summary><c>GET /sluice/me</c>: everything a key can know about itself.</summary>
public sealed record Account(
    [property: JsonPropertyName("object")] string ObjectType,
    [property: JsonPropertyName("key")] AccountKey Key,
    [property: JsonPropertyName("plan")] AccountPlan Plan,
    [property: JsonPropertyName("client_ip")] string ClientIp,
    [property: JsonPropertyName("limits")] IReadOnlyList<AccountLimit> Limits,
    [property: JsonPropertyName("balance")] AccountBalance Balance,
    [property: JsonPropertyName("today")] AccountUsage Today);

public sealed record AccountKey([property: JsonPropertyName("id")] string Id, [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("display")] string Display, [property: JsonPropertyName("created")] long Created);

public sealed record AccountPlan([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("billing")] string Billing,
    [property: JsonPropertyName("day")] string Day, [property: JsonPropertyName("max_prompt_tokens")] int? MaxPromptTokens,
    [property: JsonPropertyName("allowed_models")] IReadOnlyList<string> AllowedModels);

public sealed record AccountLimit(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("scope")] string Scope,
    [property: JsonPropertyName("models")] string? Models,
    [property: JsonPropertyName("used")] int Used,
    [property: JsonPropertyName("limit")] int Limit,
    [property: JsonPropertyName("remaining")] int Remaining,
    [property: JsonPropertyName("window")] string Window,
    [property: JsonPropertyName("reset_seconds")] long ResetSeconds,
    [property: JsonPropertyName("reset_at")] DateTimeOffset? ResetAt);

public sealed record AccountBalance([property: JsonPropertyName("mode")] string Mode, [property: JsonPropertyName("usd")] decimal Usd,
    [property: JsonPropertyName("held_usd")] decimal HeldUsd);

public sealed record AccountUsage([property: JsonPropertyName("since")] DateTimeOffset Since, [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd, [property: JsonPropertyName("models")] IReadOnlyList<ModelUsage> Models);

public sealed record ModelUsage(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("failed")] long Failed,
    [property: JsonPropertyName("prompt_tokens")] long PromptTokens,
    [property: JsonPropertyName("cached_tokens")] long CachedTokens,
    [property: JsonPropertyName("completion_tokens")] long CompletionTokens,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd);

[JsonSerializable(typeof(BillingSubscription))]
[JsonSerializable(typeof(BillingUsage))]
[JsonSerializable(typeof(Account))]
internal sealed partial class SelfServiceJsonContext : JsonSerializerContext;
