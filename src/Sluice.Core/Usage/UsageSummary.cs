using Sluice.Core.Billing;

namespace Sluice.Core.Usage;

/// <summary>Usage of one key on one model on one UTC day.</summary>
public sealed record UsageSummary(DateOnly Day, string KeyId, string Model, long Requests, long PromptTokens, long CachedTokens, long CompletionTokens, Money Cost, long Failed);
