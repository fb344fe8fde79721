namespace Sluice.Core.Plans;

/// <summary>The models a plan allows and their daily caps.</summary>
public sealed class ModelSettings
{
    /// <summary>Model names or globs that may be called; empty means every model.</summary>
    public List<string> Allowed { get; set; } = [];

    /// <summary>Per-model request caps per day, per key. A call counts against the first cap of its family that
    /// matches its model, so list narrow caps (e.g. mini models) before broad ones.</summary>
    public List<ModelCapSettings> Caps { get; set; } = [];
}

/// <summary>A daily cap on requests to some models, per key.</summary>
public sealed class ModelCapSettings
{
    /// <summary>The cap's name in headers and messages, e.g. <c>gpt-4o</c>.</summary>
    public string Name { get; set; } = "";

    /// <summary>Model names or globs this cap counts.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>Which calls it counts: <c>Chat</c> (chat, completions, responses) or <c>Embeddings</c>, …</summary>
    public Models.ModelFamily Family { get; set; } = Sluice.Core.Models.ModelFamily.Chat;

    public int Requests { get; set; }
}
