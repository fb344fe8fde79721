using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace Sluice.Gateway.ClientIp;

/// <summary>
/// Which clients may use the relay: <c>Sluice:ClientIp:Allow</c> (when not empty, only these networks) and
/// <c>Sluice:ClientIp:Deny</c> (never these, even when allowed), matched against the client address after the
/// trusted-proxy walk. The lists are read again whenever the configuration changes (<c>appsettings.json</c> is
/// watched), so an operator can shut out an address without a restart; a changed list that does not parse is
/// logged and the lists in force stay.
/// </summary>
public sealed partial class ClientAccess : IDisposable
{
    private readonly IConfiguration _configuration;
    private readonly ILogger<ClientAccess> _logger;
    private readonly IDisposable _reload;
    private volatile Lists _lists;

    public ClientAccess(IConfiguration configuration, IOptions<ClientIpOptions> options, ILogger<ClientAccess> logger)
    {
        _configuration = configuration;
        _logger = logger;
        // Validated at start-up (ClientIpOptionsValidator): nothing is left out here.
        _lists = Lists.From(options.Value, []);
        _reload = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
    }

    /// <summary>Whether the client at <paramref name="address"/> may use the relay.</summary>
    public bool Allows(IPAddress? address)
    {
        var lists = _lists;
        if (lists.Allow.IsEmpty && lists.Deny.IsEmpty)
        {
            return true;
        }
        if (address is null)
        {
            return lists.Allow.IsEmpty;
        }
        if (address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            // A link-local peer's zone (fe80::1%2) is not part of the address an operator writes in a list.
            address = new IPAddress(address.GetAddressBytes());
        }
        return (lists.Allow.IsEmpty || lists.Allow.Contains(address)) && !lists.Deny.Contains(address);
    }

    /// <summary>Adds an error for every entry of the allow and deny lists that is not an address or CIDR network, and for
    /// a list written as a single value.</summary>
    internal static void Validate(IConfigurationSection section, ClientIpOptions options, List<string> errors) => Read(section, options, errors);

    public void Dispose() => _reload.Dispose();

    private void Reload()
    {
        // Only the two lists: strings always bind, so a mistake elsewhere in the file (read at start-up only) cannot
        // throw here, on the thread that saw the file change.
        var section = _configuration.GetSection(ClientIpOptions.Section);
        var options = new ClientIpOptions
        {
            Allow = section.GetSection(nameof(ClientIpOptions.Allow)).Get<List<string>>() ?? [],
            Deny = section.GetSection(nameof(ClientIpOptions.Deny)).Get<List<string>>() ?? [],
        };
        var errors = new List<string>();
        var lists = Read(section, options, errors);
        if (errors.Count > 0)
        {
            LogReloadRefused(_logger, string.Join(" ", errors));
            return;
        }
        var previous = _lists;
        if (lists.SameEntries(previous))
        {
            return;
        }
        _lists = lists;
        if (lists.Allow.IsEmpty && lists.Deny.IsEmpty)
        {
            // Also what a deleted settings file (or one .NET could not parse) looks like: say so loudly.
            LogCleared(_logger, previous.Allow.Count, previous.Deny.Count);
            return;
        }
        LogReloaded(_logger, lists.Allow.Count, lists.Deny.Count);
    }

    /// <summary>The lists of <paramref name="options"/>; a list written as one value or an entry that does not parse adds
    /// an error.</summary>
    private static Lists Read(IConfigurationSection section, ClientIpOptions options, List<string> errors)
    {
        IpNetworks.RequireList(section, nameof(ClientIpOptions.Allow), errors);
        IpNetworks.RequireList(section, nameof(ClientIpOptions.Deny), errors);
        return Lists.From(options, errors);
    }

    [LoggerMessage(EventId = 90, EventName = "ClientAccessReloaded", Level = LogLevel.Information,
        Message = "Client access lists changed: {Allow} allowed networks (0: everyone), {Deny} denied networks")]
    private static partial void LogReloaded(ILogger logger, int allow, int deny);

    [LoggerMessage(EventId = 92, EventName = "ClientAccessCleared", Level = LogLevel.Warning,
        Message = "Client access lists are now empty: every client may use the relay (before: {Allow} allowed networks, {Deny} denied networks). " +
                  "If that was not meant, check that the settings file is there and is valid JSON.")]
    private static partial void LogCleared(ILogger logger, int allow, int deny);

    [LoggerMessage(EventId = 91, EventName = "ClientAccessReloadRefused", Level = LogLevel.Error,
        Message = "The changed client access lists are not valid, the previous lists stay in force: {Errors}")]
    private static partial void LogReloadRefused(ILogger logger, string errors);

    private sealed record Lists(NetworkSet Allow, NetworkSet Deny)
    {
        public static Lists From(ClientIpOptions options, List<string> errors) =>
            new(new NetworkSet(IpNetworks.Parse(options.Allow, nameof(options.Allow), errors)), new NetworkSet(IpNetworks.Parse(options.Deny, nameof(options.Deny), errors)));

        public bool SameEntries(Lists other) => Allow.Entries.AsSpan().SequenceEqual(other.Allow.Entries) && Deny.Entries.AsSpan().SequenceEqual(other.Deny.Entries);
    }

    /// <summary>Single addresses in a hash set, so that a deny list of thousands of abusers costs one look-up; networks
    /// (CIDR entries) are tried in turn.</summary>
    private sealed class NetworkSet
    {
        private readonly HashSet<IPAddress> _hosts = [];
        private readonly IPNetwork[] _networks;

        public NetworkSet(IPNetwork[] entries)
        {
            Entries = entries;
            var networks = new List<IPNetwork>();
            foreach (var entry in entries)
            {
                if (entry.PrefixLength == (entry.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128))
                {
                    _hosts.Add(entry.BaseAddress);
                }
                else
                {
                    networks.Add(entry);
                }
            }
            _networks = [.. networks];
        }

        public IPNetwork[] Entries { get; }

        public int Count => Entries.Length;

        public bool IsEmpty => Entries.Length == 0;

        public bool Contains(IPAddress address) => _hosts.Contains(address) || IpNetworks.Contains(_networks, address);
    }
}
