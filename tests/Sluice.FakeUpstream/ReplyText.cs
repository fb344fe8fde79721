namespace Sluice.FakeUpstream;

/// <summary>The fake's deterministic reply: <see cref="Vocabulary"/> repeated, one word per token.</summary>
internal static class ReplyText
{
    /// <summary>With the default 8 words: "Hello from the fake upstream. This deterministic reply".</summary>
    public static readonly string[] Vocabulary =
    [
        "Hello", "from", "the", "fake", "upstream.", "This", "deterministic", "reply", "counts",
        "one", "token", "per", "word", "and", "one", "chunk.",
    ];

    private static readonly string[] ChunksAfterFirst = [.. Vocabulary.Select(word => " " + word)];

    private static Cached _last = new(0, "");

    /// <summary>The stream chunk for word <paramref name="index"/>: the word, with a leading space unless it is the first.</summary>
    public static string Chunk(int index) => index == 0 ? Vocabulary[0] : ChunksAfterFirst[index % Vocabulary.Length];

    /// <summary>The whole reply of <paramref name="words"/> words (the concatenation of its chunks).</summary>
    public static string Text(int words)
    {
        var last = _last;
        if (last.Words == words)
        {
            return last.Text;
        }
        var text = string.Concat(Enumerable.Range(0, words).Select(Chunk));
        _last = new Cached(words, text);
        return text;
    }

    private sealed record Cached(int Words, string Text);
}
