using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Sluice.Core.Billing;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;
using Sluice.Core.Usage;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Admin;

/// <summary>The admin API: create, list, show (with usage) and revoke keys. Every route needs the admin token.</summary>
public static class AdminEndpoints
{
    private const long MaxBodyBytes = 64 * 1024;

    public static RouteGroupBuilder MapSluiceAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin").AddEndpointFilter<AdminTokenFilter>().AddEndpointFilter(static (context, next) =>
        {
            // Admin bodies are a few hundred bytes; larger ones are refused (413) instead of being read whole.
            if (context.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
            {
                limit.MaxRequestBodySize = MaxBodyBytes;
            }
            return next(context);
        });
        group.MapPost("/keys", CreateKeyAsync);
        group.MapGet("/keys", ListKeysAsync);
        group.MapGet("/keys/{id}", GetKeyAsync);
        group.MapPatch("/keys/{id}", UpdateKeyAsync);
        group.MapDelete("/keys/{id}", RevokeKeyAsync);
        group.MapPost("/keys/{id}/credit", CreditAsync);
        group.MapGet("/keys/{id}/balance", BalanceAsync);
        group.MapGet("/usage", UsageAsync);
        return group;
    }

    internal static async Task<Results<Created<CreatedKey>, OpenAIErrorResult>> CreateKeyAsync(
        HttpContext context, IKeyStore store, KeyDirectory directory, PlanCatalog plans, TimeProvider time)
    {
        var (request, unreadable) = await ReadJsonAsync(context, AdminJsonContext.Default.CreateKeyRequest, "{\"name\":\"alice\",\"plan\":\"free\"}");
        if (unreadable is not null)
        {
            return unreadable;
        }
        var name = request?.Name?.Trim();
        if (!IsValidName(name))
        {
            return NameRequired();
        }
        var planName = string.IsNullOrWhiteSpace(request!.Plan) ? PlanCatalog.DefaultPlan : request.Plan.Trim();
        if (plans.Find(planName) is null)
        {
            return NoSuchPlan(planName, plans);
        }
        var made = NewApiKey.Create(name, planName, time.GetUtcNow());
        var stored = await store.AddAsync(made.Key, context.RequestAborted);
        directory.Apply([stored]);
        var body = new CreatedKey(stored.Id, made.Secret, stored.Name, stored.Plan, stored.Created.ToUnixTimeSeconds(), stored.Display);
        return TypedResults.Created($"/admin/keys/{stored.Id}", body);
    }

    internal static async Task<Ok<KeyList>> ListKeysAsync(IKeyStore store, CancellationToken cancellationToken)
    {
        var keys = await store.ListAsync(cancellationToken);
        return TypedResults.Ok(new KeyList(keys.Select(KeyView.From).ToList()));
    }

    internal static async Task<Results<Ok<KeyDetails>, OpenAIErrorResult>> GetKeyAsync(
        string id, IKeyStore store, PlanCatalog plans, IRequestLimiter limiter, TimeProvider time, CancellationToken cancellationToken)
    {
        var key = await store.FindAsync(id, cancellationToken);
        if (key is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        var usage = new List<LimitUsage>();
        if (plans.Find(key.Plan) is { } plan)
        {
            var state = await limiter.PeekAsync(plan.KeyChecksFor(key.Id), cancellationToken);
            var now = time.GetUtcNow();
            foreach (var counter in state.Counters)
            {
                usage.Add(LimitUsage.From(counter, now, RateLimitHeaders.WaitMs(counter)));
            }
        }
        return TypedResults.Ok(new KeyDetails(key.Id, key.Name, key.Plan, key.Display, key.Created.ToUnixTimeSeconds(), key.Revoked?.ToUnixTimeSeconds(), usage));
    }

    /// <summary>Renames a key or moves it to another plan; the running gateway (every instance) applies it within a
    /// second. The key's counts under its old plan stay with that plan: moving it back does not hand it a fresh quota.</summary>
    internal static async Task<Results<Ok<KeyView>, OpenAIErrorResult>> UpdateKeyAsync(
        string id, HttpContext context, IKeyStore store, KeyDirectory directory, PlanCatalog plans)
    {
        var (request, unreadable) = await ReadJsonAsync(context, AdminJsonContext.Default.UpdateKeyRequest, "{\"plan\":\"pro\"} or {\"name\":\"alice\"}");
        if (unreadable is not null)
        {
            return unreadable;
        }
        var name = request?.Name?.Trim();
        var planName = request?.Plan?.Trim();
        if (name is null && planName is null)
        {
            return OpenAIErrorResult.BadRequest("Nothing to change: give 'name', 'plan' or both.", null);
        }
        if (name is not null && !IsValidName(name))
        {
            return OpenAIErrorResult.BadRequest("'name' must be a label of 1 to 200 characters, without control characters (line breaks, tabs, escapes).", "name");
        }
        if (planName is not null && plans.Find(planName) is null)
        {
            return NoSuchPlan(planName, plans);
        }
        var key = await store.FindAsync(id, context.RequestAborted);
        if (key is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        if (key.IsRevoked)
        {
            return new OpenAIErrorResult(StatusCodes.Status409Conflict, $"The key '{id}' is revoked: it cannot be changed.", OpenAIErrors.InvalidRequest, "key_revoked");
        }
        var updated = await store.UpdateAsync(id, name, planName, context.RequestAborted);
        if (updated is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        directory.Apply([updated]);
        return TypedResults.Ok(KeyView.From(updated));
    }

    /// <summary>The request's JSON body, or the 400 for a body that is not JSON of that shape.</summary>
    private static async Task<(T? Value, OpenAIErrorResult? Error)> ReadJsonAsync<T>(HttpContext context, JsonTypeInfo<T> type, string example)
    {
        try
        {
            return (await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted), null);
        }
        catch (JsonException)
        {
            return (default, OpenAIErrorResult.BadRequest($"The body must be JSON like {example}.", null));
        }
    }

    private static bool IsValidName([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] string? name) => !string.IsNullOrEmpty(name) && name.Length <= 200 && !name.Any(char.IsControl);

    private static OpenAIErrorResult NameRequired() =>
        OpenAIErrorResult.BadRequest("'name' is required: a label of 1 to 200 characters for the key's owner, without control characters (line breaks, tabs, escapes).", "name");

    private static OpenAIErrorResult NoSuchPlan(string plan, PlanCatalog plans) =>
        OpenAIErrorResult.BadRequest($"There is no plan '{plan}'. Plans: {string.Join(", ", plans.All.Select(p => p.Name))}.", "plan");

    internal static async Task<Results<Ok<KeyView>, OpenAIErrorResult>> RevokeKeyAsync(
        string id, IKeyStore store, KeyDirectory directory, TimeProvider time, CancellationToken cancellationToken)
    {
        var revoked = await store.RevokeAsync(id, time.GetUtcNow(), cancellationToken);
        if (revoked is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        directory.Apply([revoked]);
        return TypedResults.Ok(KeyView.From(revoked));
    }

    internal static async Task<Results<Ok<BalanceView>, OpenAIErrorResult>> CreditAsync(
        string id, HttpContext context, IKeyStore store, IBalanceStore balances, PlanCatalog plans, TimeProvider time)
    {
        var (request, unreadable) = await ReadJsonAsync(context, AdminJsonContext.Default.CreditRequest, "{\"amount_usd\": 5.00, \"note\": \"top-up\"}");
        if (unreadable is not null)
        {
            return unreadable;
        }
        if (request?.AmountUsd is not { } amount || amount <= 0 || amount > 1_000_000 || decimal.Round(amount, 9) != amount)
        {
            return OpenAIErrorResult.BadRequest(
                "'amount_usd' is required: a positive amount in US dollars, at most 1,000,000, with at most 9 decimal places (balances are kept in nanodollars).", "amount_usd");
        }
        if (request.Note is { Length: > 500 })
        {
            return OpenAIErrorResult.BadRequest("'note' is at most 500 characters.", "note");
        }
        var key = await store.FindAsync(id, context.RequestAborted);
        if (key is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        // A revoked key makes no more calls: a credit on it could never be used.
        if (key.IsRevoked)
        {
            return new OpenAIErrorResult(StatusCodes.Status409Conflict, $"The key '{id}' is revoked: a credit on it could never be used.", OpenAIErrors.InvalidRequest, "key_revoked");
        }
        await balances.CreditAsync(id, Money.FromUsd(amount), request.Note, time.GetUtcNow(), context.RequestAborted);
        return TypedResults.Ok(await BalanceOfAsync(key, plans, balances, context.RequestAborted));
    }

    internal static async Task<Results<Ok<BalanceView>, OpenAIErrorResult>> BalanceAsync(
        string id, IKeyStore store, IBalanceStore balances, PlanCatalog plans, CancellationToken cancellationToken)
    {
        if (await store.FindAsync(id, cancellationToken) is not { } key)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{id}'.");
        }
        return TypedResults.Ok(await BalanceOfAsync(key, plans, balances, cancellationToken));
    }

    /// <summary>Usage over the last <paramref name="days"/> UTC days, optionally for one key, grouped by any of
    /// <c>day</c>, <c>key</c> and <c>model</c> (all three by default; a dimension left out reads <c>*</c>).</summary>
    internal static async Task<Results<Ok<UsageReport>, OpenAIErrorResult>> UsageAsync(
        string? key, int? days, [FromQuery(Name = "group_by")] string? groupBy, IUsageLedger ledger, IKeyStore store, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(key) && await store.FindAsync(key, cancellationToken) is null)
        {
            return OpenAIErrorResult.NotFound($"No API key with id '{key}'.");
        }
        var span = days ?? 7;
        if (span is < 1 or > 366)
        {
            return OpenAIErrorResult.BadRequest("'days' must be between 1 and 366.", "days");
        }
        var groups = (groupBy ?? "day,key,model").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (groups.Length == 0 || groups.Any(g => g is not ("day" or "key" or "model")))
        {
            return OpenAIErrorResult.BadRequest("'group_by' is a comma-separated list of day, key and model.", "group_by");
        }
        var byDay = groups.Contains("day");
        var byKey = groups.Contains("key");
        var byModel = groups.Contains("model");
        var until = time.GetUtcNow();
        var since = new DateTimeOffset(until.UtcDateTime.Date, TimeSpan.Zero).AddDays(1 - span);
        var rows = await ledger.SummarizeAsync(string.IsNullOrWhiteSpace(key) ? null : key, since, until.AddSeconds(1), cancellationToken);
        var data = rows
            .GroupBy(r => (Day: byDay ? r.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : "*", Key: byKey ? r.KeyId : "*", Model: byModel ? r.Model : "*"))
            .OrderBy(g => g.Key.Day, StringComparer.Ordinal).ThenBy(g => g.Key.Key, StringComparer.Ordinal).ThenBy(g => g.Key.Model, StringComparer.Ordinal)
            .Select(g => new UsageRow(g.Key.Day, g.Key.Key, g.Key.Model, g.Sum(r => r.Requests), g.Sum(r => r.Failed), g.Sum(r => r.PromptTokens), g.Sum(r => r.CachedTokens),
                g.Sum(r => r.CompletionTokens), g.Aggregate(Money.Zero, (sum, r) => sum + r.Cost).Usd))
            .ToList();
        var totals = new UsageTotals(rows.Sum(r => r.Requests), rows.Sum(r => r.Failed), rows.Sum(r => r.PromptTokens), rows.Sum(r => r.CachedTokens), rows.Sum(r => r.CompletionTokens),
            rows.Aggregate(Money.Zero, (sum, r) => sum + r.Cost).Usd);
        return TypedResults.Ok(new UsageReport(since, until, data, totals));
    }

    private static async Task<BalanceView> BalanceOfAsync(ApiKey key, PlanCatalog plans, IBalanceStore balances, CancellationToken cancellationToken)
    {
        var id = key.Id;
        var state = await balances.GetAsync(id, cancellationToken);
        var history = await balances.HistoryAsync(id, 50, cancellationToken);
        var billing = plans.Find(key.Plan)?.Billing.ToString().ToLowerInvariant() ?? "unknown";
        return new BalanceView(id, key.Plan, billing, state.Balance.Usd, state.Held.Usd, state.Available.Usd,
            [.. history.Select(h => new BalanceChangeView(h.Id, h.Time, h.Kind.ToString().ToLowerInvariant(), h.Amount.Usd, h.BalanceAfter.Usd, h.RequestId, h.Note))]);
    }
}
