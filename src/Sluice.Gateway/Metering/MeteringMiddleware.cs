using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Billing;
using Sluice.Core.Limits;
using Sluice.Core.Usage;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Meters every admitted call exactly once. Streams ask the upstream for their usage (removed again from the
/// answer when the client did not ask for it); the answer is read as it passes. When the call is over, the tokens
/// (the upstream's usage, or counted with the model's tokenizer when it gave none, e.g. for a client that left
/// mid-stream) and their cost go to the ledger, and a prepaid hold is settled with it. A call the upstream failed
/// costs nothing and, by default, is given back to every limit and cap.
/// </summary>
internal sealed class MeteringMiddleware
{
    private readonly RequestDelegate _next;
    private readonly LedgerWriter _ledger;
    private readonly IRequestLimiter _limiter;
    private readonly IBalanceStore _balances;
    private readonly TokenCounter _tokens;
    private readonly TimeProvider _time;

    public MeteringMiddleware(RequestDelegate next, LedgerWriter ledger, IRequestLimiter limiter, IBalanceStore balances, TokenCounter tokens, TimeProvider time)
    {
        _next = next;
        _ledger = ledger;
        _limiter = limiter;
        _balances = balances;
        _tokens = tokens;
        _time = time;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        // Not counted (e.g. one model's description): not metered either.
        return feature.Admission is { Admitted: true } ? MeterAsync(context, feature) : _next(context);
    }

    private async Task MeterAsync(HttpContext context, SluiceRequestFeature feature)
    {
        var started = _time.GetTimestamp();
        var at = _time.GetUtcNow();
        var strip = StreamOptionsInjector.Applies(context.Request, feature);
        var response = context.Response;
        await using var tap = new UsageTap(response.Body, response, strip);
        response.Body = tap;
        var faulted = false;
        try
        {
            if (strip)
            {
                StreamOptionsInjector.Inject(context.Request, feature);
            }
            await _next(context);
        }
        catch (Exception) when (!context.RequestAborted.IsCancellationRequested)
        {
            // Sluice itself failed the call (the error handler answers 500): like an upstream failure, it is given
            // back and costs nothing, and still lands in the ledger.
            faulted = true;
            throw;
        }
        finally
        {
            response.Body = tap.Inner;
            await tap.FinishAsync();
            await RecordAsync(context, feature, tap, at, started, faulted);
        }
    }

    private async Task RecordAsync(HttpContext context, SluiceRequestFeature feature, UsageTap tap, DateTimeOffset at, long started, bool faulted)
    {
        var status = faulted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
        var upstreamFailed = faulted || feature.UpstreamFailed || status >= StatusCodes.Status500InternalServerError;
        var clientLeft = !upstreamFailed && context.RequestAborted.IsCancellationRequested;
        var price = feature.Rules?.Price ?? Price.Free;
        var held = feature.Held;
        TokenUsage usage = default;
        var source = UsageSource.None;
        if (upstreamFailed)
        {
            if (feature.GivesBack(failed: true) && feature.Checks is { } checks)
            {
                await _limiter.ReleaseAsync(checks, feature.Admission!, CancellationToken.None);
            }
            if (held is not null)
            {
                await _balances.ReleaseHoldAsync(feature.Key!.Id, feature.RequestId, CancellationToken.None);
                held = null;
            }
        }
        else if (tap.Usage is { } reported)
        {
            usage = reported;
            source = UsageSource.Upstream;
        }
        else if (feature.Model is not null && (status < StatusCodes.Status400BadRequest || clientLeft))
        {
            // No usage from the upstream (or the client left before it came): count what was asked and what was sent.
            var prompt = feature.PromptTokens ?? CountPrompt(context, feature);
            var completion = _tokens.CountText(feature.Model, tap.IsEventStream ? tap.StreamedText.ToString() : tap.AnswerText());
            usage = new TokenUsage(prompt, 0, completion);
            source = UsageSource.Tokenizer;
        }
        await _ledger.WriteAsync(new UsageRecord
        {
            RequestId = feature.RequestId,
            Time = at,
            KeyId = feature.Key!.Id,
            ClientIp = feature.Client.Address?.ToString() ?? "",
            Model = feature.Model ?? "",
            Endpoint = context.Request.Path.Value ?? "",
            Status = clientLeft ? 499 : feature.UpstreamBrokeOff ? StatusCodes.Status502BadGateway : status,
            PromptTokens = usage.PromptTokens,
            CachedTokens = usage.CachedTokens,
            CompletionTokens = usage.CompletionTokens,
            Cost = price.Cost(usage.PromptTokens, usage.CachedTokens, usage.CompletionTokens),
            LatencyMs = (int)_time.GetElapsedTime(started).TotalMilliseconds,
            Streamed = feature.Stream,
            Outcome = upstreamFailed ? UsageOutcome.UpstreamFailed : clientLeft ? UsageOutcome.ClientAborted : UsageOutcome.Completed,
            Source = source,
            Held = held,
        });
    }

    private long CountPrompt(HttpContext context, SluiceRequestFeature feature)
    {
        try
        {
            return _tokens.CountPrompt(feature.Model, context.Request.Path.Value ?? "", feature.Body.Span);
        }
        catch (System.Text.Json.JsonException)
        {
            return 0;
        }
    }
}
