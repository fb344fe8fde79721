using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Billing;
using Sluice.Core.Limits;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Billing;

/// <summary>
/// On a prepaid plan, holds the most a call can cost (its prompt plus its <c>max_tokens</c>, or the model's default,
/// at the model's prices) before it is forwarded; without enough balance the call is refused with OpenAI's
/// 429 <c>insufficient_quota</c> and given back to the limiter, so nothing is consumed. Metering settles the hold.
/// </summary>
internal sealed class PrepaidHoldMiddleware
{
    /// <summary>Bodies up to this size have their prompt counted whole, whatever the balance.</summary>
    private const int CountWholeBytes = 64 * 1024;

    private readonly RequestDelegate _next;
    private readonly IBalanceStore _balances;
    private readonly IRequestLimiter _limiter;
    private readonly TokenCounter _tokens;
    private readonly TimeProvider _time;

    public PrepaidHoldMiddleware(RequestDelegate next, IBalanceStore balances, IRequestLimiter limiter, TokenCounter tokens, TimeProvider time)
    {
        _next = next;
        _balances = balances;
        _limiter = limiter;
        _tokens = tokens;
        _time = time;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        var price = feature.Rules?.Price;
        return feature.Plan!.Billing != BillingMode.Prepaid || feature.Admission is not { Admitted: true } || price is null || price.IsFree
            ? _next(context)
            : HoldAsync(context, feature, price);
    }

    private async Task HoldAsync(HttpContext context, SluiceRequestFeature feature, Price price)
    {
        // Each of the n answers may use up to max_tokens.
        var completion = (long)(feature.MaxTokens ?? price.DefaultMaxTokens) * feature.Choices;
        bool whole, held = false;
        long prompt;
        Money estimate;
        try
        {
            (prompt, whole) = await CountPromptAsync(context, feature, price, completion);
            estimate = price.Cost(prompt, 0, completion);
            if (whole)
            {
                feature.PromptTokens = prompt;
                held = await _balances.TryHoldAsync(feature.Key!.Id, feature.RequestId, estimate, _time.GetUtcNow(), context.RequestAborted);
            }
        }
        catch
        {
            await _limiter.ReleaseAsync(feature.Checks!, feature.Admission!, CancellationToken.None);
            throw;
        }
        if (!held)
        {
            await _limiter.ReleaseAsync(feature.Checks!, feature.Admission!, CancellationToken.None);
            var balance = await _balances.GetAsync(feature.Key!.Id, context.RequestAborted);
            // Calls in flight hold part of the balance: when they finish, a retry may fit. Without them, only a
            // top-up helps, and OpenAI's libraries are told not to retry twice in vain.
            var holdsInTheWay = !(balance.Balance < estimate);
            if (!holdsInTheWay)
            {
                RetryAdvice.Never(context.Response.Headers);
            }
            var why = holdsInTheWay
                ? $"but the key's balance has {balance.Available} available: calls in flight hold {balance.Held} of its {balance.Balance} until they finish, and a retry after that may go through."
                : $"but the key's balance has {balance.Available} available. Ask the operator to top up the key, or lower max_tokens.";
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests,
                string.Create(CultureInfo.InvariantCulture,
                    $"You exceeded your current quota, please check your plan and billing details. This call can cost {(whole ? "up to" : "more than")} {estimate} ({prompt}{(whole ? "" : " or more")} prompt tokens and up to {completion} completion tokens of {feature.Model}), {why}"),
                "insufficient_quota", "insufficient_quota");
            return;
        }
        feature.Held = estimate;
        await _next(context);
    }

    /// <summary>
    /// The prompt's tokens, and whether they were all counted. A body up to <see cref="CountWholeBytes"/> is counted
    /// whole (quick). A larger one is counted only as far as the key's balance could pay for: counting costs about
    /// 0.3 s of CPU per MB of text, and a prepaid key with nothing left must not make the gateway spend that on a
    /// refusal. Over that point the call cannot be held anyway; the count then stops, and the call is refused.
    /// </summary>
    private async ValueTask<(long Tokens, bool Whole)> CountPromptAsync(HttpContext context, SluiceRequestFeature feature, Price price, long completion)
    {
        if (feature.PromptTokens is { } counted)
        {
            return (counted, true);
        }
        var endpoint = context.Request.Path.Value ?? "";
        if (feature.Body.Length <= CountWholeBytes || price.Input <= 0)
        {
            return (_tokens.CountPrompt(feature.Model, endpoint, feature.Body.Span), true);
        }
        var balance = await _balances.GetAsync(feature.Key!.Id, context.RequestAborted);
        var left = balance.Available.Nanodollars - price.Cost(0, 0, completion).Nanodollars;
        // The input price per token in nanodollars: USD per million tokens × 1000.
        var affordable = left <= 0 ? 0 : (long)Math.Min(decimal.Floor(left / (price.Input * 1000m)), long.MaxValue - 1);
        var tokens = _tokens.CountPrompt(feature.Model, endpoint, feature.Body.Span, limit: affordable);
        return (tokens, tokens <= affordable);
    }
}
