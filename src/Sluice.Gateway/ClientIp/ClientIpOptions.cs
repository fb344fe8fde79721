namespace Sluice.Gateway.ClientIp;

/// <summary>How the client address is found (<c>Sluice:ClientIp</c>).</summary>
public sealed class ClientIpOptions
{
    public const string Section = "Sluice:ClientIp";

    /// <summary>Proxies (addresses or CIDR networks) whose forwarding header is believed. Empty: the TCP peer is the client.</summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Which header the trusted proxies write. Only that one is read, so a client cannot slip in the other.</summary>
    public ForwardedHeader ForwardedHeader { get; set; } = ForwardedHeader.XForwardedFor;

    /// <summary>IPv4 clients are counted per address by default (32); a shorter prefix groups them.</summary>
    public int Ipv4PrefixLength { get; set; } = 32;

    /// <summary>IPv6 clients are counted per /64 by default, since one host may hold a whole /64.</summary>
    public int Ipv6PrefixLength { get; set; } = 64;

    /// <summary>When not empty, only clients in these networks (addresses or CIDR) may use the relay; others get 403.</summary>
    public List<string> Allow { get; set; } = [];

    /// <summary>Clients in these networks (addresses or CIDR) get 403 on the relay, also when <see cref="Allow"/> lists them.</summary>
    public List<string> Deny { get; set; } = [];
}

/// <summary>The forwarding header trusted proxies write.</summary>
public enum ForwardedHeader
{
    /// <summary><c>X-Forwarded-For: client, proxy1, proxy2</c>.</summary>
    XForwardedFor,

    /// <summary>RFC 7239 <c>Forwarded: for=client, for=proxy1</c>.</summary>
    Forwarded,
}
