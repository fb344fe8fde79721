using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Hosting;

/// <summary>The answer to an error nobody handled: OpenAI-shaped, never a stack trace. (The exception is logged by
/// the exception handler middleware.)</summary>
internal static class UnhandledErrors
{
    public static Task WriteAsync(HttpContext context)
    {
        var exception = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        if (exception is BadHttpRequestException bad)
        {
            return OpenAIErrors.WriteAsync(context, bad.StatusCode, "The request could not be read: " + bad.Message, OpenAIErrors.InvalidRequest, null);
        }
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status500InternalServerError,
            "The server had an error while processing your request. Sorry about that! You can retry your request; the operator can find the details in the server log.",
            OpenAIErrors.ServerError, null);
    }
}
