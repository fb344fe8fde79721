using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Sluice.Gateway.ClientIp;

namespace Sluice.Gateway.Tests.ClientIp;

public sealed class ClientIpResolverTests
{
    private static string Resolve(string peer, string? header, ForwardedHeader kind = ForwardedHeader.XForwardedFor, params string[] trusted)
    {
        var resolver = new ClientIpResolver(Options.Create(new ClientIpOptions { TrustedProxies = [.. trusted], ForwardedHeader = kind }));
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(peer);
        if (header is not null)
        {
            context.Request.Headers[kind == ForwardedHeader.XForwardedFor ? "X-Forwarded-For" : "Forwarded"] = header;
        }
        return resolver.Resolve(context).Address.ToString();
    }

    [Fact]
    public void Resolve_NoTrustedProxies_IgnoresForgedHeader()
    {
        Assert.Equal("203.0.113.9", Resolve("203.0.113.9", "1.2.3.4"));
    }

    [Fact]
    public void Resolve_UntrustedPeer_IgnoresHeaderEvenWhenProxiesAreConfigured()
    {
        Assert.Equal("203.0.113.9", Resolve("203.0.113.9", "1.2.3.4", ForwardedHeader.XForwardedFor, "10.0.0.0/8"));
    }

    [Fact]
    public void Resolve_TrustedPeer_TakesRightmostUntrustedHop()
    {
        // The client forged "6.6.6.6"; the trusted proxy appended the real client 198.51.100.7.
        Assert.Equal("198.51.100.7", Resolve("10.0.0.1", "6.6.6.6, 198.51.100.7", ForwardedHeader.XForwardedFor, "10.0.0.0/8"));
    }

    [Fact]
    public void Resolve_ChainOfTrustedProxies_WalksPastEachOne()
    {
        Assert.Equal("198.51.100.7", Resolve("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2, 10.0.0.3", ForwardedHeader.XForwardedFor, "10.0.0.0/8"));
    }

    [Fact]
    public void Resolve_AllHopsTrusted_LeftmostIsTheClient()
    {
        Assert.Equal("10.0.0.9", Resolve("10.0.0.1", "10.0.0.9, 10.0.0.2", ForwardedHeader.XForwardedFor, "10.0.0.0/8"));
    }

    [Fact]
    public void Resolve_MalformedHop_StopsAtTheLastTrustedProxy()
    {
        Assert.Equal("10.0.0.2", Resolve("10.0.0.1", "198.51.100.7, garbage, 10.0.0.2", ForwardedHeader.XForwardedFor, "10.0.0.0/8"));
    }

    [Fact]
    public void Resolve_MultipleHeaderLines_AreOneList()
    {
        var resolver = new ClientIpResolver(Options.Create(new ClientIpOptions { TrustedProxies = ["10.0.0.0/8"] }));
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.0.0.1");
        context.Request.Headers["X-Forwarded-For"] = new Microsoft.Extensions.Primitives.StringValues(["198.51.100.7", "10.0.0.5"]);
        Assert.Equal("198.51.100.7", resolver.Resolve(context).Address.ToString());
    }

    [Fact]
    public void Resolve_Rfc7239Forwarded_WithPortsAndIpv6()
    {
        Assert.Equal("2001:db8:cafe::17", Resolve("10.0.0.1", "for=192.0.2.43, for=\"[2001:db8:cafe::17]:4711\";proto=https", ForwardedHeader.Forwarded, "10.0.0.1"));
        Assert.Equal("192.0.2.60", Resolve("10.0.0.1", "for=192.0.2.60;proto=http;by=203.0.113.43", ForwardedHeader.Forwarded, "10.0.0.1"));
    }

    [Fact]
    public void Resolve_ForwardedHeaderConfigured_IgnoresXForwardedFor()
    {
        var resolver = new ClientIpResolver(Options.Create(new ClientIpOptions { TrustedProxies = ["10.0.0.1"], ForwardedHeader = ForwardedHeader.Forwarded }));
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse("10.0.0.1");
        context.Request.Headers["X-Forwarded-For"] = "1.2.3.4";
        Assert.Equal("10.0.0.1", resolver.Resolve(context).Address.ToString());
    }

    [Fact]
    public void Resolve_Ipv4MappedPeer_IsIpv4()
    {
        Assert.Equal("198.51.100.7", Resolve("::ffff:198.51.100.7", null));
    }

    [Fact]
    public void Validator_ListsEveryBadEntry()
    {
        var result = new ClientIpOptionsValidator(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build()).Validate(null, new ClientIpOptions { TrustedProxies = ["nonsense", "10.0.0.0/99", "10.0.0.1"], Ipv6PrefixLength = 3 });
        Assert.True(result.Failed);
        Assert.Equal(3, result.Failures!.Count());
    }
}
