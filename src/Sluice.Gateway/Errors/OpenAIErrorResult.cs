using Microsoft.AspNetCore.Http;

namespace Sluice.Gateway.Errors;

/// <summary>An OpenAI-shaped error as a typed result for minimal API handlers.</summary>
public sealed class OpenAIErrorResult : IResult
{
    public OpenAIErrorResult(int statusCode, string message, string type, string? code, string? param = null)
    {
        StatusCode = statusCode;
        Message = message;
        Type = type;
        Code = code;
        Param = param;
    }

    public int StatusCode { get; }

    public string Message { get; }

    public string Type { get; }

    public string? Code { get; }

    public string? Param { get; }

    public Task ExecuteAsync(HttpContext httpContext) => OpenAIErrors.WriteAsync(httpContext, StatusCode, Message, Type, Code, Param);

    public static OpenAIErrorResult NotFound(string message) => new(StatusCodes.Status404NotFound, message, OpenAIErrors.InvalidRequest, "not_found");

    public static OpenAIErrorResult BadRequest(string message, string? param) => new(StatusCodes.Status400BadRequest, message, OpenAIErrors.InvalidRequest, "invalid_value", param);
}
