using System.Text.Json;

namespace Sluice.FakeUpstream;

/// <summary>GET /v1/models and GET /v1/models/{id}.</summary>
internal static class Models
{
    /// <summary>The listed models (id, created, owned_by).</summary>
    public static readonly (string Id, long Created, string OwnedBy)[] Listed =
    [
        ("gpt-4o-mini", 1721172741, "system"),
        ("gpt-4o", 1715367049, "system"),
        ("gpt-4.1-mini", 1744318173, "system"),
        ("gpt-5", 1754425777, "system"),
        ("gpt-5-mini", 1754425928, "system"),
        ("gpt-3.5-turbo-instruct", 1692901427, "system"),
        ("text-embedding-3-small", 1705948997, "system"),
        ("text-embedding-3-large", 1705953180, "system"),
        ("deepseek-chat", 1735689600, "deepseek"),
    ];

    /// <summary>Created time reported for a model that is not listed but still served (any name not starting with "unknown").</summary>
    private const long UnlistedCreated = 1700000000;

    private static readonly byte[] ListBody = BuildList();

    public static Task ListAsync(Exchange exchange) => exchange.SendJsonAsync(200, ListBody);

    /// <summary>A listed model, an unlisted one the fake serves anyway, or 404 model_not_found for "unknown…".</summary>
    public static Task RetrieveAsync(Exchange exchange, string id)
    {
        if (id.Length == 0 || RequestFields.IsUnknownModel(id))
        {
            return OpenAiErrors.SendAsync(exchange, 404, $"The model '{id}' does not exist", OpenAiErrors.InvalidRequest, "model", "model_not_found");
        }
        var model = Array.Find(Listed, m => m.Id == id);
        var writer = Json.Start();
        Write(writer, id, model.Id is null ? UnlistedCreated : model.Created, model.OwnedBy ?? "system");
        return exchange.SendJsonAsync(200, Json.Finish(writer));
    }

    private static byte[] BuildList()
    {
        using var stream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(stream, Json.WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("object"u8, "list"u8);
            writer.WriteStartArray("data"u8);
            foreach (var (id, created, ownedBy) in Listed)
            {
                Write(writer, id, created, ownedBy);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return stream.ToArray();
    }

    private static void Write(Utf8JsonWriter writer, string id, long created, string ownedBy)
    {
        writer.WriteStartObject();
        writer.WriteString("id"u8, id);
        writer.WriteString("object"u8, "model"u8);
        writer.WriteNumber("created"u8, created);
        writer.WriteString("owned_by"u8, ownedBy);
        writer.WriteEndObject();
    }
}
