namespace Sluice.Core.Models;

/// <summary>Kinds of calls, counted separately by model caps (a chat cap never counts embeddings).</summary>
public enum ModelFamily
{
    Chat,
    Embeddings,
    Images,
    Audio,
    Other,
}
