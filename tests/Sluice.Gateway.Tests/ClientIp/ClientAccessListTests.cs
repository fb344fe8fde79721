using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Sluice.Gateway.ClientIp;

namespace Sluice.Gateway.Tests.ClientIp;

/// <summary>The allow and deny lists matched against client addresses, without a server.</summary>
public sealed class ClientAccessListTests
{
    private static ClientAccess Access(string[] allow, string[] deny)
    {
        var options = new ClientIpOptions { Allow = [.. allow], Deny = [.. deny] };
        return new ClientAccess(new ConfigurationBuilder().Build(), Options.Create(options), NullLogger<ClientAccess>.Instance);
    }

    [Theory]
    [InlineData("203.0.113.9", false)]
    [InlineData("::ffff:203.0.113.9", false)] // IPv4-mapped counts as IPv4 (the resolver maps it; an entry maps too)
    [InlineData("203.0.113.10", true)]
    [InlineData("2001:db8:1:2::99", false)] // inside the denied /64
    [InlineData("2001:db8:1:3::99", true)]
    [InlineData("fe80::1%2", false)] // a link-local peer's zone index is not part of the listed address
    [InlineData("fe80::2%2", true)]
    public void Deny_SingleAddressesAndNetworks(string client, bool allowed)
    {
        using var access = Access([], ["203.0.113.9", "2001:db8:1:2::/64", "fe80::1"]);
        var address = IPAddress.Parse(client);
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Assert.Equal(allowed, access.Allows(address));
    }

    [Fact]
    public void NoLists_AllowEveryone_EvenWithoutAnAddress()
    {
        using var access = Access([], []);

        Assert.True(access.Allows(IPAddress.Parse("198.51.100.1")));
        Assert.True(access.Allows(null));
    }

    [Fact]
    public void AllowList_RefusesAClientWithoutAnAddress()
    {
        using var access = Access(["10.0.0.0/8"], []);

        Assert.True(access.Allows(IPAddress.Parse("10.1.2.3")));
        Assert.False(access.Allows(IPAddress.Parse("11.1.2.3")));
        Assert.False(access.Allows(null));
    }
}
