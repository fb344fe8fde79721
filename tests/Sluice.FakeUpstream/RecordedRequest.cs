using System.Text;

namespace Sluice.FakeUpstream;

/// <summary>A request the fake received (any path except <c>/_fake/*</c>).</summary>
/// <param name="Method">The HTTP method.</param>
/// <param name="PathAndQuery">The request target exactly as sent (path and query string).</param>
/// <param name="Headers">The request headers; names are case-insensitive and several values are joined with ", ".</param>
/// <param name="Body">The whole request body.</param>
/// <param name="Canceled">The client went away before the fake finished answering.</param>
/// <param name="Protocol">The HTTP version it came over: <c>HTTP/1.1</c> or <c>HTTP/2</c>.</param>
public sealed record RecordedRequest(
    string Method,
    string PathAndQuery,
    IReadOnlyDictionary<string, string> Headers,
    byte[] Body,
    bool Canceled,
    string Protocol)
{
    /// <summary>The body decoded as UTF-8.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The value of header <paramref name="name"/>, or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>The mutable form of a <see cref="RecordedRequest"/> while its answer is being written.</summary>
internal sealed class RecordEntry(string method, string pathAndQuery, IReadOnlyDictionary<string, string> headers, byte[] body, string protocol)
{
    public volatile bool Canceled;

    public RecordedRequest ToRecord() => new(method, pathAndQuery, headers, body, Canceled, protocol);

    public string Method => method;

    public string PathAndQuery => pathAndQuery;

    public int BodyLength => body.Length;
}
