using System.Buffers;
using System.Globalization;
using System.Text;

namespace Sluice.Gateway.Metering;

/// <summary>
/// Cuts text for the tokenizer so that no run it cannot split costs it more than a bounded time. A BPE tokenizer
/// first splits text at changes between letters, digits, whitespace and other characters, then merges each piece's
/// bytes in time that grows with the square of the piece's length: one run of 200,000 letters (<c>aaaa…</c>, an
/// easy prompt to send) took Microsoft.ML.Tokenizers 22–30 s, 100,000 took 3 s. A run of one kind longer than
/// <see cref="MaxRun"/> characters is therefore cut every <see cref="MaxRun"/> characters and its parts counted
/// apart. Text without such a run is one piece and counts exactly as whole; a cut run counts at most about one token
/// more per cut than OpenAI would count (often the same: 256 <c>a</c>s are 32 tokens either way).
/// </summary>
internal static class TokenPieces
{
    public const int MaxRun = 256;

    private enum Kind : byte
    {
        Letter,
        Digit,
        Space,
        Other,
    }

    /// <summary>The length of the first piece of <paramref name="text"/>: all of it, or up to where a run of one kind
    /// reaches <see cref="MaxRun"/> characters (never inside a surrogate pair). Digit runs are never cut: the
    /// tokenizer's own pattern splits them every three digits.</summary>
    public static int FirstLength(ReadOnlySpan<char> text)
    {
        if (text.Length <= MaxRun)
        {
            return text.Length;
        }
        var kind = (Kind)255;
        var runStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out var rune, out var width) != OperationStatus.Done)
            {
                rune = Rune.ReplacementChar;
            }
            var next = KindOf(rune);
            if (next != kind)
            {
                kind = next;
                runStart = i;
            }
            else if (i - runStart >= MaxRun && kind != Kind.Digit)
            {
                return i;
            }
            i += width;
        }
        return text.Length;
    }

    /// <summary>The classes of the tokenizers' split pattern (<c>\p{L}</c> and <c>\p{M}</c>, <c>\p{N}</c>, <c>\s</c>, the rest).</summary>
    private static Kind KindOf(Rune rune)
    {
        if (Rune.IsWhiteSpace(rune))
        {
            return Kind.Space;
        }
        return Rune.GetUnicodeCategory(rune) switch
        {
            UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
                or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter
                or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.EnclosingMark => Kind.Letter,
            UnicodeCategory.DecimalDigitNumber or UnicodeCategory.LetterNumber or UnicodeCategory.OtherNumber => Kind.Digit,
            _ => Kind.Other,
        };
    }
}
