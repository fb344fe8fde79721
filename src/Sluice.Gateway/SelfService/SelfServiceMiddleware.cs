using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Billing;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.SelfService;

/// <summary>
/// What a user can ask with their own key, never counted against any limit: OpenAI's legacy billing endpoints
/// (<c>/v1/dashboard/billing/subscription</c> and <c>/usage</c>, which NextChat, LobeChat and Chatbox read to show a
/// balance) and Sluice's <c>/sluice/me</c> (plan, every limit with used/limit/remaining/reset, balance, today's usage).
/// </summary>
internal sealed class SelfServiceMiddleware
{
    private const int MaxUsageDays = 100;

    private readonly RequestDelegate _next;
    private readonly AccountService _accounts;

    public SelfServiceMiddleware(RequestDelegate next, AccountService accounts)
    {
        _next = next;
        _accounts = accounts;
    }

    public static bool IsSelfServicePath(PathString path) =>
        path.StartsWithSegments("/v1/dashboard/billing", StringComparison.Ordinal) || path.Equals("/sluice/me", StringComparison.Ordinal);

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        if (!HttpMethods.IsGet(context.Request.Method) || !IsSelfServicePath(path))
        {
            return _next(context);
        }
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        if (path.Equals("/v1/dashboard/billing/subscription", StringComparison.Ordinal))
        {
            return SubscriptionAsync(context, feature.Key!, feature.Plan!);
        }
        if (path.Equals("/v1/dashboard/billing/usage", StringComparison.Ordinal))
        {
            return UsageAsync(context, feature.Key!);
        }
        if (path.Equals("/sluice/me", StringComparison.Ordinal))
        {
            return MeAsync(context, feature);
        }
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status404NotFound, $"Invalid URL (GET {path})", OpenAIErrors.InvalidRequest, null);
    }

    private async Task SubscriptionAsync(HttpContext context, ApiKey key, Plan plan)
    {
        var cancellation = context.RequestAborted;
        var (balance, _) = await _accounts.BalanceAsync(key, plan, cancellation);
        // Clients show hard_limit_usd minus what they read from /usage. A free key has no limit in money (0, so its
        // balance shows as negative, which is normal); a prepaid key's limit is what was credited.
        var limit = plan.Billing switch
        {
            BillingMode.Prepaid => (balance + await _accounts.SpentAsync(key.Id, DateTimeOffset.UnixEpoch, _accounts.Time.GetUtcNow().AddDays(1), cancellation)).Usd,
            BillingMode.Unlimited => 1_000_000m,
            _ => 0m,
        };
        var body = new BillingSubscription("billing_subscription", plan.Billing == BillingMode.Prepaid, false,
            _accounts.Time.GetUtcNow().AddYears(1).ToUnixTimeSeconds(), limit, limit, limit, new BillingPlan(plan.Name, plan.Name), key.Name);
        await WriteAsync(context, body, SelfServiceJsonContext.Default.BillingSubscription);
    }

    private async Task UsageAsync(HttpContext context, ApiKey key)
    {
        var query = context.Request.Query;
        if (!TryDate(query["start_date"], out var start) || !TryDate(query["end_date"], out var end))
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                "Both start_date and end_date are required, as YYYY-MM-DD (end_date is not included).", OpenAIErrors.InvalidRequest, "invalid_date", "start_date");
            return;
        }
        if (end <= start || end.DayNumber - start.DayNumber > MaxUsageDays)
        {
            await OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                $"end_date must be after start_date, and the range at most {MaxUsageDays} days.", OpenAIErrors.InvalidRequest, "invalid_date", "end_date");
            return;
        }
        var since = new DateTimeOffset(start.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var until = new DateTimeOffset(end.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var rows = await _accounts.UsageByDayAsync(key.Id, since, until, context.RequestAborted);
        var days = rows.GroupBy(r => r.Day)
            .OrderBy(g => g.Key)
            .Select(g => new DailyCost(new DateTimeOffset(g.Key.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).ToUnixTimeSeconds(),
                g.Select(r => new LineItem(r.Model.Length == 0 ? "other" : r.Model, r.Cost.Cents)).ToList()))
            .ToList();
        var total = rows.Aggregate(Money.Zero, (sum, r) => sum + r.Cost);
        await WriteAsync(context, new BillingUsage("list", days, total.Cents), SelfServiceJsonContext.Default.BillingUsage);
    }

    private async Task MeAsync(HttpContext context, SluiceRequestFeature feature)
    {
        var key = feature.Key!;
        var plan = feature.Plan!;
        var cancellation = context.RequestAborted;
        var limits = await _accounts.LimitsAsync(key, plan, feature.Client.Group, cancellation);
        // Reset times from the limiter's own clock at the moment it looked, so a calendar reset reads exactly 00:00.
        var now = limits.TimestampMs > 0 ? DateTimeOffset.FromUnixTimeMilliseconds(limits.TimestampMs) : _accounts.Time.GetUtcNow();
        var (balance, held) = await _accounts.BalanceAsync(key, plan, cancellation);
        var since = _accounts.DayStart(plan);
        var today = await _accounts.UsageByModelAsync(key.Id, since, cancellation);
        var day = plan.DayZone is { } zone ? $"calendar day, from 00:00 {zone.Id}" : "rolling 24 hours";
        var account = new Account(
            "sluice.account",
            new AccountKey(key.Id, key.Name, key.Display, key.Created.ToUnixTimeSeconds()),
            new AccountPlan(plan.Name, plan.Billing.ToString().ToLowerInvariant(), day, plan.MaxPromptTokens, [.. plan.AllowedModels]),
            feature.Client.GroupText,
            [.. limits.Counters.Select(c => Limit(c, now))],
            new AccountBalance(plan.Billing.ToString().ToLowerInvariant(), balance.Usd, held.Usd),
            new AccountUsage(since, today.Sum(r => r.Requests), today.Aggregate(Money.Zero, (sum, r) => sum + r.Cost).Usd,
                [.. today.Select(r => new ModelUsage(r.Model, r.Requests, r.Failed, r.PromptTokens, r.CachedTokens, r.CompletionTokens, r.Cost.Usd))]));
        await WriteAsync(context, account, SelfServiceJsonContext.Default.Account);
    }

    private static AccountLimit Limit(CounterState counter, DateTimeOffset now)
    {
        var policy = counter.Policy;
        var wait = RateLimitHeaders.WaitMs(counter);
        var scope = policy.Kind == LimitKind.ModelCap ? "model" : policy.Subject == LimitSubject.Key ? "key" : "ip";
        var window = policy.CalendarZone is { } zone ? $"day ({zone.Id})" : GoDuration.Format(policy.WindowMs);
        return new AccountLimit(policy.Name, scope, policy.Description, counter.Used, counter.Limit, counter.Remaining, window,
            RateLimitHeaders.Seconds(wait), wait > 0 ? now.AddMilliseconds(wait) : null);
    }

    private static bool TryDate(string? text, out DateOnly date) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    private static async Task WriteAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/json; charset=utf-8";
        await JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}
