using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>POST /v1/moderations: one result per input, nothing flagged (the model defaults to omni-moderation-latest, as OpenAI's does).</summary>
internal static class Moderations
{
    private static readonly string[] Categories = ["harassment", "hate", "self-harm", "sexual", "violence"];

    public static Task HandleAsync(Exchange exchange, byte[] body)
    {
        if (!RequestFields.TryParse(exchange, body, out var document, out var error))
        {
            return error;
        }
        using (document)
        {
            var root = document.RootElement;
            if (!root.TryGetProperty("input", out var input) || input.ValueKind == JsonValueKind.Null)
            {
                return OpenAiErrors.MissingParameterAsync(exchange, "input");
            }
            var model = root.TryGetProperty("model", out var named) && named.ValueKind == JsonValueKind.String ? named.GetString()! : "omni-moderation-latest";
            var count = input.ValueKind == JsonValueKind.Array ? input.GetArrayLength() : 1;
            var writer = Json.Start();
            writer.WriteStartObject();
            writer.WriteString("id"u8, "modr-" + Ids.RequestId().Replace("-", "", StringComparison.Ordinal));
            writer.WriteString("model"u8, model == "omni-moderation-latest" ? "omni-moderation-2024-09-26" : model);
            writer.WriteStartArray("results"u8);
            for (var i = 0; i < count; i++)
            {
                writer.WriteStartObject();
                writer.WriteBoolean("flagged"u8, false);
                writer.WriteStartObject("categories"u8);
                foreach (var category in Categories)
                {
                    writer.WriteBoolean(category, false);
                }
                writer.WriteEndObject();
                writer.WriteStartObject("category_scores"u8);
                foreach (var category in Categories)
                {
                    writer.WriteNumber(category, 0.0001);
                }
                writer.WriteEndObject();
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
            return exchange.SendJsonAsync(200, Json.Finish(writer));
        }
    }
}
