using System.Globalization;
using System.Text;

namespace Sluice.Core.Text;

/// <summary>
/// Text a client chose (a model name, a path) made safe to print in a log line or a terminal: characters that
/// move the cursor, end a line, recolour or clear a terminal, or reorder what is shown (control characters, C1
/// controls, line and paragraph separators, bidirectional and other format characters) are written as <c>\uXXXX</c>.
/// </summary>
public static class Printable
{
    /// <summary>Whether <paramref name="c"/> must not be printed as it is.</summary>
    public static bool IsUnsafe(char c) =>
        c < ' ' || c == '\u007F'
        || (c >= '\u0080' && (char.IsControl(c) || CharUnicodeInfo.GetUnicodeCategory(c)
            is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator));

    /// <summary><paramref name="text"/> with every unsafe character as <c>\uXXXX</c> (the same string when there is none).</summary>
    public static string Escape(string text)
    {
        var first = 0;
        while (first < text.Length && !IsUnsafe(text[first]))
        {
            first++;
        }
        if (first == text.Length)
        {
            return text;
        }
        var escaped = new StringBuilder(text.Length + 8).Append(text, 0, first);
        foreach (var c in text.AsSpan(first))
        {
            if (IsUnsafe(c))
            {
                escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                escaped.Append(c);
            }
        }
        return escaped.ToString();
    }
}
