using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;
using Sluice.Gateway.Authentication;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Admin;

/// <summary>Lets an admin call through only with <c>Authorization: Bearer &lt;admin token&gt;</c>.</summary>
internal sealed class AdminTokenFilter : IEndpointFilter
{
    private readonly AdminToken _token;

    public AdminTokenFilter(AdminToken token)
    {
        _token = token;
    }

    public ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var header = context.HttpContext.Request.Headers[HeaderNames.Authorization].ToString();
        if (_token.Matches(ApiKeyAuthenticationMiddleware.PresentedKey(header)))
        {
            return next(context);
        }
        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return ValueTask.FromResult<object?>(new OpenAIErrorResult(StatusCodes.Status401Unauthorized,
            "The admin API needs the admin token: Authorization: Bearer <token> (see --admin-token, or <data-dir>/admin-token).",
            OpenAIErrors.InvalidRequest, "invalid_admin_token"));
    }
}
