using System.Net;
using Sluice.Core.Clients;

namespace Sluice.Core.Tests.Clients;

public sealed class ClientAddressTests
{
    [Fact]
    public void From_Ipv4MappedIpv6_CountsAsTheIpv4Address()
    {
        var mapped = ClientAddress.From(IPAddress.Parse("::ffff:203.0.113.7"));
        var plain = ClientAddress.From(IPAddress.Parse("203.0.113.7"));
        Assert.Equal(plain.Group, mapped.Group);
        Assert.Equal("203.0.113.7", mapped.Address.ToString());
        Assert.Equal("203.0.113.7", mapped.GroupText);
    }

    [Fact]
    public void From_Ipv6_GroupsBySlash64()
    {
        var a = ClientAddress.From(IPAddress.Parse("2001:db8:1:2::1"));
        var b = ClientAddress.From(IPAddress.Parse("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        var other = ClientAddress.From(IPAddress.Parse("2001:db8:1:3::1"));
        Assert.Equal(a.Group, b.Group);
        Assert.NotEqual(a.Group, other.Group);
        Assert.Equal("2001:db8:1:2::/64", a.GroupText);
    }

    [Fact]
    public void From_Ipv6WithConfiguredPrefix_GroupsByThatPrefix()
    {
        var a = ClientAddress.From(IPAddress.Parse("2001:db8:1:2::1"), ipv6PrefixLength: 48);
        var b = ClientAddress.From(IPAddress.Parse("2001:db8:1:9::1"), ipv6PrefixLength: 48);
        Assert.Equal(a.Group, b.Group);
        Assert.Equal("2001:db8:1::/48", a.GroupText);
    }

    [Fact]
    public void From_DistinctIpv4Addresses_AreDistinctGroups_AndNeverCollideWithIpv6()
    {
        var a = ClientAddress.From(IPAddress.Parse("10.0.0.1"));
        var b = ClientAddress.From(IPAddress.Parse("10.0.0.2"));
        var v6 = ClientAddress.From(IPAddress.Parse("2001:db8::a00:1"));
        Assert.NotEqual(a.Group, b.Group);
        Assert.NotEqual(a.Group, v6.Group);
    }
}
