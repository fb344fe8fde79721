using System.Net;
using Microsoft.Extensions.Configuration;

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

    /// <summary>A list written as one value (<c>Sluice:ClientIp:Deny=1.2.3.4</c>, or <c>"Deny": "1.2.3.4"</c>) binds to an
    /// empty list without a word; that is an error, so that a deny list is never dropped silently.</summary>
    public static void RequireList(IConfigurationSection section, string name, List<string> errors)
    {
        // An empty JSON array ("Deny": []) reads as an empty value: that is an empty list, not a mistake.
        if (section.GetSection(name).Value is { Length: > 0 } value)
        {
            errors.Add($"{ClientIpOptions.Section}:{name} must be a list: write {ClientIpOptions.Section}:{name}:0={value} (and :1, :2, … for more), or a JSON array (was the single value '{value}').");
        }
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
