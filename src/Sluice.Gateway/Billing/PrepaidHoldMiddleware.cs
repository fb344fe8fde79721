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
        var prompt = feature.PromptTokens ??= _tokens.CountPrompt(feature.Model, context.Request.Path.Value ?? "", feature.Body.Span);
        // Each of the n answers may use up to max_tokens.
        var completion = (long)(feature.MaxTokens ?? price.DefaultMaxTokens) * feature.Choices;
        var estimate = price.Cost(prompt, 0, completion);
        bool held;
        try
        {
            held = await _balances.TryHoldAsync(feature.Key!.Id, feature.RequestId, estimate, _time.GetUtcNow(), context.RequestAborted);
        }
        catch
        {
            await _limiter.ReleaseAsync(feature.Checks!, feature.Admission!, CancellationToken.None);
            throw;
        }
        if (!held)
        {
            await _limiter.ReleaseAsync(feature.Checks!, feature.Admission!, CancellationToken.None);
            var balance = await _balances.GetAsync(feature.Key.Id, context.RequestAborted);
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
                    $"You exceeded your current quota, please check your plan and billing details. This call can cost up to {estimate} ({prompt} prompt tokens and up to {completion} completion tokens of {feature.Model}), {why}"),
                "insufficient_quota", "insufficient_quota");
            return;
        }
        feature.Held = estimate;
        await _next(context);
    }
}
