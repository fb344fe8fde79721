namespace Sluice.Core.Models;

/// <summary>A model name or a glob (<c>*</c> any run of characters, <c>?</c> one), compared ignoring case.</summary>
public sealed class ModelPattern
{
    public ModelPattern(string pattern)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        Text = pattern.Trim();
        IsExact = Text.IndexOfAny(['*', '?']) < 0;
        LiteralLength = Text.Length - Text.Count(c => c is '*' or '?');
    }

    public string Text { get; }

    public bool IsExact { get; }

    /// <summary>How many characters are not wildcards: the more, the more specific.</summary>
    public int LiteralLength { get; }

    public bool Matches(string model) => IsExact ? string.Equals(Text, model, StringComparison.OrdinalIgnoreCase) : Glob(Text, model);

    public override string ToString() => Text;

    private static bool Glob(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        // Iterative wildcard matching with backtracking to the last star: linear in practice.
        int p = 0, t = 0, star = -1, mark = 0;
        while (t < text.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || char.ToLowerInvariant(pattern[p]) == char.ToLowerInvariant(text[t])))
            {
                p++;
                t++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                star = p++;
                mark = t;
            }
            else if (star >= 0)
            {
                p = star + 1;
                t = ++mark;
            }
            else
            {
                return false;
            }
        }
        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }
        return p == pattern.Length;
    }
}
