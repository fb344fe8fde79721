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

    /// <summary>
    /// An error status that nothing wrote a body for (no such path, a method a path does not take, a query the
    /// admin API cannot bind): the same OpenAI shape as every other error, with what was asked.
    /// </summary>
    public static Task WriteEmptyAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var request = context.Request;
        var code = context.Response.StatusCode;
        var message = code switch
        {
            StatusCodes.Status404NotFound => $"Invalid URL ({request.Method} {request.Path})",
            StatusCodes.Status405MethodNotAllowed => $"Method {request.Method} is not allowed on {request.Path}.",
            StatusCodes.Status400BadRequest => $"The request to {request.Path} could not be understood: check its parameters (e.g. numbers in the query string).",
            _ => $"The request to {request.Path} failed with HTTP {code}.",
        };
        return OpenAIErrors.WriteAsync(context, code, message, code >= 500 ? OpenAIErrors.ServerError : OpenAIErrors.InvalidRequest, null);
    }
}
