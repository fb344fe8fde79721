using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using Sluice.Core.Keys;
using Sluice.Core.Plans;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Authentication;

/// <summary>
/// Accepts <c>Authorization: Bearer sk-…</c> (or the bare key, as some clients send it), hashes it and looks it
/// up in memory. Missing, unknown or revoked keys get OpenAI's 401 and never reach the limiter or upstream.
/// </summary>
internal sealed class ApiKeyAuthenticationMiddleware
{
    private readonly RequestDelegate _next;
    private readonly KeyDirectory _keys;
    private readonly PlanCatalog _plans;
    private readonly KeyHashCache _hashes;

    public ApiKeyAuthenticationMiddleware(RequestDelegate next, KeyDirectory keys, PlanCatalog plans, KeyHashCache hashes)
    {
        _next = next;
        _keys = keys;
        _plans = plans;
        _hashes = hashes;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var authorization = context.Request.Headers[HeaderNames.Authorization];
        if (authorization.Count > 1 || (authorization.Count == 1 && authorization[0]!.Contains(',', StringComparison.Ordinal)))
        {
            // Two header lines, or two values in one (a key has no comma): read as one they would be an unknown key.
            return Unauthorized(context,
                "Incorrect API key provided: the request has more than one Authorization header. Send exactly one (Authorization: Bearer sk-…).");
        }
        var presented = PresentedKey(authorization.ToString());
        if (presented.IsEmpty)
        {
            return Unauthorized(context,
                "Incorrect API key provided: none. You didn't provide an API key; send it in an Authorization header using Bearer auth (Authorization: Bearer sk-…).");
        }
        var remembered = _hashes.TryGet(presented, out var hash);
        if (!remembered)
        {
            hash = KeyHash.Of(presented);
        }
        var key = _keys.Find(hash);
        if (key is null)
        {
            return Unauthorized(context, $"Incorrect API key provided: {ApiKeySecret.Display(presented)}. Check the key you were given by this Sluice server's operator.");
        }
        if (key.IsRevoked)
        {
            return Unauthorized(context, $"Incorrect API key provided: {key.Display}. This key has been revoked; ask the operator for a new one.");
        }
        var plan = _plans.Find(key.Plan);
        if (plan is null)
        {
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"The plan '{key.Plan}' of this API key is not offered by this server any more; ask the operator to move the key to another plan.",
                OpenAIErrors.InvalidRequest, "plan_not_found");
        }
        if (!remembered)
        {
            _hashes.Remember(presented, hash);
        }
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        feature.Key = key;
        feature.Plan = plan;
        return _next(context);
    }

    /// <summary>The key from <c>Bearer &lt;key&gt;</c> or a bare key; empty when none was sent.</summary>
    internal static ReadOnlySpan<char> PresentedKey(ReadOnlySpan<char> header)
    {
        header = header.Trim();
        if (header.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
        {
            return [];
        }
        if (header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            header = header[7..].Trim();
        }
        return header;
    }

    private static Task Unauthorized(HttpContext context, string message)
    {
        context.Response.Headers.WWWAuthenticate = "Bearer";
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, message, OpenAIErrors.InvalidRequest, "invalid_api_key");
    }
}
