using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Sluice.Core.Keys;
using Sluice.Core.Limits;
using Sluice.Core.Plans;
using Sluice.Gateway.Admission;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Admin;

/// <summary>The admin API: create, list, show (with usage) and revoke keys. Every route needs the admin token.</summary>
public static class AdminEndpoints
{
    public static RouteGroupBuilder MapSluiceAdmin(this IEndpointRouteBuilder endpoints)
    {
        var group = endpoints.MapGroup("/admin").AddEndpointFilter<AdminTokenFilter>();
        group.MapPost("/keys", CreateKeyAsync);
        group.MapGet("/keys", ListKeysAsync);
        group.MapGet("/keys/{id}", GetKeyAsync);
        group.MapDelete("/keys/{id}", RevokeKeyAsync);
        return group;
    }

    internal static async Task<Results<Created<CreatedKey>, OpenAIErrorResult>> CreateKeyAsync(
        HttpContext context, IKeyStore store, KeyDirectory directory, PlanCatalog plans, TimeProvider time)
    {
        CreateKeyRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(context.Request.Body, AdminJsonContext.Default.CreateKeyRequest, context.RequestAborted);
        }
        catch (JsonException)
        {
            return OpenAIErrorResult.BadRequest("The body must be JSON like {\"name\":\"alice\",\"plan\":\"free\"}.", null);
        }
        var name = request?.Name?.Trim();
        if (string.IsNullOrEmpty(name) || name.Length > 200)
        {
            return OpenAIErrorResult.BadRequest("'name' is required: a label of 1 to 200 characters for the key's owner.", "name");
        }
        var planName = string.IsNullOrWhiteSpace(request!.Plan) ? PlanCatalog.DefaultPlan : request.Plan.Trim();
        if (plans.Find(planName) is null)
        {
            return OpenAIErrorResult.BadRequest($"There is no plan '{planName}'. Plans: {string.Join(", ", plans.All.Select(p => p.Name))}.", "plan");
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
}
