using System.Net;

namespace Sluice.Gateway.ClientIp;

/// <summary>Parses network entries (trusted proxies, allow and deny lists): an address (a single host) or a CIDR network.</summary>
internal static class IpNetworks
{
    /// <summary>The networks of a configured list; an entry that does not parse adds an error naming its key.</summary>
    public static IPNetwork[] Parse(List<string> entries, string name, List<string> errors, string hint = "")
    {
        var networks = new List<IPNetwork>(entries.Count);
        for (var i = 0; i < entries.Count; i++)
        {
            if (TryParse(entries[i], out var network))
            {
                networks.Add(network);
            }
            else
            {
                errors.Add($"{ClientIpOptions.Section}:{name}:{i}: '{entries[i]}' is not an IP address or CIDR network{hint}.");
            }
        }
        return [.. networks];
    }

    public static bool Contains(IPNetwork[] networks, IPAddress address)
    {
        foreach (var network in networks)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }
        return false;
    }

    public static bool TryParse(string? text, out IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        if (text.Contains('/', StringComparison.Ordinal))
        {
            if (!IPNetwork.TryParse(text, out network))
            {
                return false;
            }
            if (network.BaseAddress.IsIPv4MappedToIPv6 && network.PrefixLength >= 96)
            {
                network = new IPNetwork(network.BaseAddress.MapToIPv4(), network.PrefixLength - 96);
            }
            return true;
        }
        if (!IPAddress.TryParse(text, out var address))
        {
            return false;
        }
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }
        network = new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        return true;
    }
}
