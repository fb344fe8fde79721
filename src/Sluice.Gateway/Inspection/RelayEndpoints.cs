using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Sluice.Gateway.Inspection;

/// <summary>The method and path pairs that are relayed (<see cref="RelayOptions.Endpoints"/>), matched without allocating.</summary>
public sealed class RelayEndpoints
{
    private readonly Entry[] _entries;

    public RelayEndpoints(IOptions<RelayOptions> options)
    {
        _entries = [.. (options.Value.Endpoints ?? RelayOptions.DefaultEndpoints).Select(text => Parse(text) ?? throw new OptionsValidationException(
            RelayOptions.Section, typeof(RelayOptions), [Problem(text)!]))];
    }

    public bool Allows(string method, PathString path)
    {
        var value = path.Value ?? "";
        foreach (var entry in _entries)
        {
            if (!string.Equals(entry.Method, method, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (!entry.AnySegment)
            {
                if (value.Equals(entry.Path, StringComparison.Ordinal))
                {
                    return true;
                }
                continue;
            }
            // "/v1/models/*": the prefix, a slash, then one non-empty segment.
            if (value.Length > entry.Path.Length + 1 && value.StartsWith(entry.Path, StringComparison.Ordinal)
                && value[entry.Path.Length] == '/' && value.IndexOf('/', entry.Path.Length + 1) < 0)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The relayed endpoints, for messages: <c>POST /v1/chat/completions, …</c>.</summary>
    public override string ToString() => string.Join(", ", _entries.Select(e => $"{e.Method} {e.Path}{(e.AnySegment ? "/{id}" : "")}"));

    /// <summary>Why an entry cannot be used, or null when it is fine.</summary>
    public static string? Problem(string? text) =>
        Parse(text) is null
            ? $"{RelayOptions.Section}:Endpoints: '{text}' is not 'METHOD /v1/path' (e.g. 'POST /v1/chat/completions', or 'GET /v1/models/*' for one more path segment)."
            : null;

    private static Entry? Parse(string? text)
    {
        var parts = (text ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !parts[0].All(char.IsAsciiLetter) || !parts[1].StartsWith("/v1/", StringComparison.Ordinal))
        {
            return null;
        }
        var path = parts[1];
        var any = path.EndsWith("/*", StringComparison.Ordinal);
        if (any)
        {
            path = path[..^2];
        }
        if (path.Contains('*', StringComparison.Ordinal) || path.EndsWith('/'))
        {
            return null;
        }
        return new Entry(parts[0].ToUpperInvariant(), path, any);
    }

    private sealed record Entry(string Method, string Path, bool AnySegment);
}
