using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Sluice.Core.Storage;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Storage;

namespace Sluice.Gateway.Hosting;

/// <summary>The answer to an error nobody handled: OpenAI-shaped, never a stack trace. (The exception is logged by
/// the exception handler middleware.) The key database being unavailable is a 503 with Retry-After, not a 500.</summary>
internal static class UnhandledErrors
{
    public static Task WriteAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (exception is BadHttpRequestException bad)
        {
            return OpenAIErrors.WriteAsync(context, bad.StatusCode, "The request could not be read: " + bad.Message, OpenAIErrors.InvalidRequest, null);
        }
        if (exception is StoreUnavailableException unavailable)
        {
            return StoreUnavailableResponse.WriteAsync(context, unavailable);
        }
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status500InternalServerError,
            "The server had an error while processing your request. Sorry about that! You can retry your request; the operator can find the details in the server log.",
            OpenAIErrors.ServerError, null);
    }
}
