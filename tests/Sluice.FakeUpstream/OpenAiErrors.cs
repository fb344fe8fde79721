namespace Sluice.FakeUpstream;

/// <summary>Error answers in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>.</summary>
internal static class OpenAiErrors
{
    public const string InvalidRequest = "invalid_request_error";

    public static Task SendAsync(Exchange exchange, int status, string message, string type, string? param = null, string? code = null)
    {
        var writer = Json.Start();
        writer.WriteStartObject();
        writer.WriteStartObject("error");
        writer.WriteString("message", message);
        writer.WriteString("type", type);
        writer.WriteNullableString("param", param);
        writer.WriteNullableString("code", code);
        writer.WriteEndObject();
        writer.WriteEndObject();
        return exchange.SendJsonAsync(status, Json.Finish(writer));
    }

    public static Task InvalidJsonAsync(Exchange exchange) => SendAsync(exchange, 400,
        "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. "
        + "The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, "
        + "please contact us through our help center at help.openai.com.)",
        InvalidRequest);

    public static Task MissingModelAsync(Exchange exchange) =>
        SendAsync(exchange, 400, "you must provide a model parameter", InvalidRequest, "model");

    public static Task MissingParameterAsync(Exchange exchange, string name) =>
        SendAsync(exchange, 400, $"Missing required parameter: '{name}'.", InvalidRequest, name, "missing_required_parameter");

    public static Task InvalidTypeAsync(Exchange exchange, string name, string expected, System.Text.Json.JsonElement got) =>
        SendAsync(exchange, 400, $"Invalid type for '{name}': expected {expected}, but got {Json.Describe(got)} instead.", InvalidRequest, name, "invalid_type");

    public static Task ModelNotFoundAsync(Exchange exchange, string model) =>
        SendAsync(exchange, 404, $"The model `{model}` does not exist or you do not have access to it.", InvalidRequest, null, "model_not_found");

    public static Task InvalidUrlAsync(Exchange exchange)
    {
        var request = exchange.Context.Request;
        return SendAsync(exchange, 404, $"Invalid URL ({request.Method} {request.Path.Value})", InvalidRequest);
    }

    public static Task InvalidApiKeyAsync(Exchange exchange, string? provided) => provided is null
        ? SendAsync(exchange, 401,
            "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth "
            + "(i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API "
            + "from your browser and are prompted for a username. You can obtain an API key from https://platform.openai.com/account/api-keys.",
            InvalidRequest, null, "invalid_api_key")
        : SendAsync(exchange, 401,
            $"Incorrect API key provided: {Mask(provided)}. You can find your API key at https://platform.openai.com/account/api-keys.",
            InvalidRequest, null, "invalid_api_key");

    /// <summary>An injected failure: a realistic body for <paramref name="status"/>.</summary>
    public static Task InjectedAsync(Exchange exchange, int status) => status switch
    {
        400 => SendAsync(exchange, status, "Invalid request (injected by the fake upstream).", InvalidRequest),
        401 => InvalidApiKeyAsync(exchange, "sk-injected-failure"),
        403 => SendAsync(exchange, status, "Country, region, or territory not supported", "request_forbidden", null, "unsupported_country_region_territory"),
        404 => InvalidUrlAsync(exchange),
        408 => SendAsync(exchange, status, "Request timed out.", "timeout"),
        429 => SendAsync(exchange, status,
            "Rate limit reached for requests in organization fake-org on requests per min (RPM): Limit 10000, Used 10000, Requested 1. "
            + "Please try again in 6ms. Visit https://platform.openai.com/account/rate-limits to learn more.",
            "requests", null, "rate_limit_exceeded"),
        500 => SendAsync(exchange, status, "The server had an error while processing your request. Sorry about that!", "server_error"),
        502 => SendAsync(exchange, status, "Bad gateway.", "server_error"),
        503 => SendAsync(exchange, status, "The engine is currently overloaded, please try again later", "server_error"),
        504 => SendAsync(exchange, status, "Gateway timeout.", "server_error"),
        < 500 => SendAsync(exchange, status, $"Injected failure: status {status}.", InvalidRequest),
        _ => SendAsync(exchange, status, $"Injected failure: status {status}.", "server_error"),
    };

    /// <summary>As OpenAI shows a wrong key: the first 3 and last 4 characters.</summary>
    private static string Mask(string key) => key.Length <= 8
        ? new string('*', key.Length)
        : string.Concat(key.AsSpan(0, 3), new string('*', key.Length - 7), key.AsSpan(key.Length - 4));
}
