using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Sluice.Core.Storage;
using Sluice.Gateway.Errors;

namespace Sluice.Gateway.Storage;

/// <summary>
/// A call that needed the database while it is unavailable: 503 <c>database_unavailable</c> with Retry-After, in
/// OpenAI's error shape. As an <see cref="IExceptionHandler"/> it also keeps the log to one warning line per call
/// (ASP.NET Core records no "unhandled exception" with a stack trace for what a handler handled).
/// </summary>
internal sealed partial class StoreUnavailableResponse : IExceptionHandler
{
    private readonly ILogger _logger;

    public StoreUnavailableResponse(ILogger<StoreUnavailableResponse> logger)
    {
        _logger = logger;
    }

    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not StoreUnavailableException unavailable)
        {
            return false;
        }
        LogAnswered(_logger, httpContext.Request.Method, httpContext.Request.Path, unavailable.InnerException?.Message ?? unavailable.Message);
        await WriteAsync(httpContext, unavailable);
        return true;
    }

    public static Task WriteAsync(HttpContext context, StoreUnavailableException unavailable)
    {
        var seconds = RetryAdvice.Apply(context.Response.Headers, unavailable.RetryAfter);
        return OpenAIErrors.WriteAsync(context, StatusCodes.Status503ServiceUnavailable,
            $"The key database is unavailable, so this call cannot be completed right now; nothing was changed. API requests with known keys keep working. Please retry in {seconds} seconds.",
            OpenAIErrors.ServerError, "database_unavailable");
    }

    [LoggerMessage(EventId = 86, EventName = "DatabaseUnavailableAnswered", Level = LogLevel.Warning,
        Message = "{Method} {Path} answered 503: the key database is unavailable ({Reason})")]
    private static partial void LogAnswered(ILogger logger, string method, string path, string reason);
}
