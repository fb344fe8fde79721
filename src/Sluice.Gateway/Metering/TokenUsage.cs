namespace Sluice.Gateway.Metering;

/// <summary>Token counts of one call.</summary>
public readonly record struct TokenUsage(long PromptTokens, long CachedTokens, long CompletionTokens);
