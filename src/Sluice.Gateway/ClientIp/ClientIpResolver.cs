using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Sluice.Core.Clients;

namespace Sluice.Gateway.ClientIp;

/// <summary>
/// Finds the client of a request: the TCP peer, unless the peer is a trusted proxy, in which case the
/// forwarding header is walked from right to left past trusted hops; the first untrusted address is the
/// client. A header from an untrusted peer is never read, so it cannot be forged.
/// </summary>
public sealed class ClientIpResolver
{
    private readonly IPNetwork[] _trusted;
    private readonly ForwardedHeader _header;
    private readonly int _ipv4Prefix;
    private readonly int _ipv6Prefix;

    public ClientIpResolver(IOptions<ClientIpOptions> options)
    {
        var value = options.Value;
        // Validated at start-up: nothing is left out here.
        _trusted = IpNetworks.Parse(value.TrustedProxies, nameof(value.TrustedProxies), []);
        _header = value.ForwardedHeader;
        _ipv4Prefix = value.Ipv4PrefixLength;
        _ipv6Prefix = value.Ipv6PrefixLength;
    }

    public ClientAddress Resolve(HttpContext context)
    {
        var peer = Normalize(context.Connection.RemoteIpAddress ?? IPAddress.IPv6None);
        if (_trusted.Length == 0 || !IsTrusted(peer))
        {
            return Group(peer);
        }
        var values = context.Request.Headers[_header == ForwardedHeader.XForwardedFor ? "X-Forwarded-For" : "Forwarded"];
        return Group(WalkBack(peer, values));
    }

    /// <summary>Walks the hops right to left while the current hop is trusted.</summary>
    internal IPAddress WalkBack(IPAddress peer, StringValues values)
    {
        var client = peer;
        for (var v = values.Count - 1; v >= 0; v--)
        {
            var header = values[v].AsSpan();
            while (header.Length > 0)
            {
                if (!IsTrusted(client))
                {
                    return client;
                }
                var comma = header.LastIndexOf(',');
                var element = comma < 0 ? header : header[(comma + 1)..];
                header = comma < 0 ? [] : header[..comma];
                var hop = _header == ForwardedHeader.XForwardedFor ? ParseAddress(element) : ParseForwardedFor(element);
                if (hop is null)
                {
                    // An unknown, obfuscated or malformed hop: the walk cannot go further than the last trusted one.
                    return client;
                }
                client = hop;
            }
        }
        return client;
    }

    private ClientAddress Group(IPAddress address) => ClientAddress.From(address, _ipv4Prefix, _ipv6Prefix);

    private bool IsTrusted(IPAddress address) => IpNetworks.Contains(_trusted, address);

    private static IPAddress Normalize(IPAddress address) => address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;

    /// <summary>An X-Forwarded-For element: an address, possibly with a port or in brackets.</summary>
    private static IPAddress? ParseAddress(ReadOnlySpan<char> text)
    {
        text = text.Trim().Trim('"');
        if (text.IsEmpty)
        {
            return null;
        }
        if (text[0] == '[')
        {
            var close = text.IndexOf(']');
            if (close < 0)
            {
                return null;
            }
            text = text[1..close];
        }
        else if (text.IndexOf(':') is var colon && colon >= 0 && text.LastIndexOf(':') == colon)
        {
            // IPv4 with a port: "192.0.2.1:4711".
            text = text[..colon];
        }
        return IPAddress.TryParse(text, out var address) ? Normalize(address) : null;
    }

    /// <summary>An RFC 7239 element: <c>for=192.0.2.60;proto=http;by=203.0.113.43</c>.</summary>
    private static IPAddress? ParseForwardedFor(ReadOnlySpan<char> element)
    {
        foreach (var range in element.Split(';'))
        {
            var pair = element[range].Trim();
            if (pair.Length > 4 && pair[..4].Equals("for=", StringComparison.OrdinalIgnoreCase))
            {
                return ParseAddress(pair[4..]);
            }
        }
        return null;
    }
}
