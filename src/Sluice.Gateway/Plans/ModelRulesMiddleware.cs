using System.Globalization;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Sluice.Core.Billing;
using Sluice.Gateway.Errors;
using Sluice.Gateway.Hosting;
using Sluice.Gateway.Metering;

namespace Sluice.Gateway.Plans;

/// <summary>
/// Applies the key's plan to the model it asks for, before anything is counted: a model the plan does not allow
/// is refused (403 <c>model_not_allowed</c>); a prompt over the plan's token cap is refused (400
/// <c>prompt_too_long</c>); on a prepaid plan, a model without a price is refused (403 <c>model_not_allowed</c>).
/// The model's cap and price go on the request for admission and metering.
/// </summary>
internal sealed class ModelRulesMiddleware
{
    private readonly RequestDelegate _next;
    private readonly TokenCounter _tokens;

    public ModelRulesMiddleware(RequestDelegate next, TokenCounter tokens)
    {
        _next = next;
        _tokens = tokens;
    }

    public Task InvokeAsync(HttpContext context)
    {
        var feature = context.Features.GetRequiredFeature<SluiceRequestFeature>();
        var plan = feature.Plan!;
        feature.Family = ModelFamilies.Of(context.Request.Path);
        if (feature.Model is null && plan.RestrictsModels && !HttpMethods.IsGet(context.Request.Method))
        {
            // A form upload (or a call without a model): its model cannot be checked against the plan's list.
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"The '{plan.Name}' plan of this server allows only some models ({string.Join(", ", plan.AllowedModels)}), and this call does not name one in a JSON body, so it cannot be checked. Send the call as JSON with a `model` field.",
                OpenAIErrors.InvalidRequest, "model_not_allowed", "model");
        }
        var rules = plan.RulesFor(feature.Model, feature.Family);
        feature.Rules = rules;
        if (!rules.Allowed)
        {
            var allowed = string.Join(", ", plan.AllowedModels);
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"The model `{feature.Model}` is not available on the '{plan.Name}' plan of this server. Models you can use: {allowed}.",
                OpenAIErrors.InvalidRequest, "model_not_allowed", "model");
        }
        if (plan.Billing == BillingMode.Prepaid && !rules.Priced && !HttpMethods.IsGet(context.Request.Method))
        {
            // A prepaid key pays for what it uses: a call whose cost cannot be known is not made for free.
            return OpenAIErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                feature.Model is null
                    ? $"The '{plan.Name}' plan of this server is prepaid, and this call does not name a model in a JSON body, so its cost cannot be known. Send the call as JSON with a `model` field."
                    : $"The model `{feature.Model}` has no price on the '{plan.Name}' plan of this server, and a prepaid key can only use models it can be charged for. Ask the operator to set its price (Sluice:Plans:{plan.Name}:Prices).",
                OpenAIErrors.InvalidRequest, "model_not_allowed", "model");
        }
        if (plan.MaxPromptTokens is { } max && feature.Body.Length > max)
        {
            // A token is at least one byte of the body, so only a body longer than the cap can be over it.
            long tokens;
            try
            {
                tokens = _tokens.CountPrompt(feature.Model, context.Request.Path.Value!, feature.Body.Span, limit: max);
            }
            catch (JsonException)
            {
                tokens = 0;
            }
            if (tokens > max)
            {
                // Counted only until it was over the cap: a huge prompt is refused without tokenizing all of it.
                return OpenAIErrors.WriteAsync(context, StatusCodes.Status400BadRequest,
                    string.Create(CultureInfo.InvariantCulture,
                        $"Your prompt has more than {max} tokens (tools and response_format included), but the '{plan.Name}' plan accepts at most {max} prompt tokens per request. Shorten the prompt (for example, send fewer earlier messages of the conversation) and try again."),
                    OpenAIErrors.InvalidRequest, "prompt_too_long", PromptParameter(context.Request.Path));
            }
            feature.PromptTokens = tokens;
        }
        return _next(context);
    }

    /// <summary>The request field that holds the prompt, by endpoint.</summary>
    private static string PromptParameter(PathString path) =>
        path.StartsWithSegments("/v1/completions", StringComparison.Ordinal) ? "prompt"
        : path.StartsWithSegments("/v1/chat/completions", StringComparison.Ordinal) ? "messages"
        : "input";
}
