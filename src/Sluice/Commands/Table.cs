using System.Globalization;
using Sluice.Core.Text;

namespace Sluice.Commands;

/// <summary>Prints rows as an aligned plain-text table.</summary>
internal static class Table
{
    /// <summary>Writes the table; what the server sends (names a client chose) is printed with <see cref="Printable"/>
    /// escapes, so that it cannot clear or recolour the terminal or break the table.</summary>
    public static void Write(TextWriter output, string[] headers, IReadOnlyList<string[]> rows)
    {
        rows = [.. rows.Select(row => row.Select(Printable.Escape).ToArray())];
        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in rows)
        {
            for (var i = 0; i < widths.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }
        WriteRow(output, headers, widths);
        foreach (var row in rows)
        {
            WriteRow(output, row, widths);
        }
        if (rows.Count == 0)
        {
            output.WriteLine("(none)");
        }
    }

    public static string Time(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public static string Usd(decimal usd) => "$" + usd.ToString("0.00####", CultureInfo.InvariantCulture);

    public static string Integer(long value) => value.ToString(CultureInfo.InvariantCulture);

    public static string Window(long seconds)
    {
        var span = TimeSpan.FromSeconds(seconds);
        return span.TotalDays >= 1 && span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays:0}d"
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours}h{span.Minutes:00}m"
            : span.TotalMinutes >= 1 ? $"{span.Minutes}m{span.Seconds:00}s"
            : $"{span.Seconds}s";
    }

    private static void WriteRow(TextWriter output, string[] cells, int[] widths)
    {
        for (var i = 0; i < cells.Length; i++)
        {
            output.Write(i == cells.Length - 1 ? cells[i] : cells[i].PadRight(widths[i] + 2));
        }
        output.WriteLine();
    }
}
