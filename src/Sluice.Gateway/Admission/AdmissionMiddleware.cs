using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Limits;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Admission;

/// <summary>
/// Asks the limiter whether the request fits into every limit of its key's plan (key and client IP counters
/// together). Refused: 429 with the reason, nothing counted, upstream never called. Admitted: the rate-limit
/// headers go on the answer. Listing models is not counted.
/// </summary>
internal sealed class AdmissionMiddleware
{
    private readonly RequestDelegate _next;
    private readonly IRequestLimiter _limiter;
    private readonly TimeProvider _time;
    private readonly AdmissionMetrics _metrics;

    public AdmissionMiddleware(RequestDelegate next, IRequestLimiter limiter, TimeProvider time, AdmissionMetrics metrics)
    {
        _next = next;
        _limiter = limiter;
        _time = time;
        _metrics = metrics;
    }

    public Task InvokeAsync(HttpContext context)
    {
        if (IsUncounted(context.Request))
        {
            return _next(context);
        }
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        var checks = feature.Plan!.ChecksFor(feature.Key!.Id, feature.Client.Group, feature.Rules?.Cap);
        ValueTask<AdmissionResult> decision;
        try
        {
            decision = _limiter.TryAdmitAsync(checks, feature.RequestId, context.RequestAborted);
        }
        catch (LimiterUnavailableException unavailable)
        {
            return UnavailableAsync(context, unavailable);
        }
        // The embedded limiter decides synchronously: no state machine for the common case.
        return decision.IsCompletedSuccessfully
            ? DecidedAsync(context, feature, checks, decision.Result)
            : AwaitDecisionAsync(context, feature, checks, decision);
    }

    private async Task AwaitDecisionAsync(HttpContext context, SluiceRequestFeature feature, LimitCheck[] checks, ValueTask<AdmissionResult> decision)
    {
        AdmissionResult result;
        try
        {
            result = await decision;
        }
        catch (LimiterUnavailableException unavailable)
        {
            await UnavailableAsync(context, unavailable);
            return;
        }
        await DecidedAsync(context, feature, checks, result);
    }

    private Task DecidedAsync(HttpContext context, SluiceRequestFeature feature, LimitCheck[] checks, AdmissionResult result)
    {
        feature.Checks = checks;
        feature.Admission = result;
        if (!result.Admitted)
        {
            _metrics.Rejected(result);
            return RateLimitRefusal.WriteAsync(context, result, feature.Client, _time.GetUtcNow());
        }
        _metrics.Admitted();
        // The rate-limit headers go on the answer once, when the upstream's headers are copied (RelayTransformer),
        // or on an error written here (RelayForwarder).
        return _next(context);
    }

    private Task UnavailableAsync(HttpContext context, LimiterUnavailableException unavailable)
    {
        _metrics.Unavailable();
        var seconds = RetryAdvice.Apply(context.Response.Headers, unavailable.RetryAfter);
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            $"The rate limiter of this server is unavailable, so no request can be admitted right now. Nothing was counted; please retry in {seconds} seconds.",
            OpenAIErrors.ServerError, "limiter_unavailable");
    }

    /// <summary><c>/v1/models</c> (and one model) is read by clients at start-up and costs nothing upstream.</summary>
    internal static bool IsUncounted(HttpRequest request) =>
        HttpMethods.IsGet(request.Method) && request.Path.StartsWithSegments("/v1/models", StringComparison.Ordinal);

}
