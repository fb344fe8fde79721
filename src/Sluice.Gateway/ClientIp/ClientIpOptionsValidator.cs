using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace Sluice.Gateway.ClientIp;

internal sealed class ClientIpOptionsValidator : IValidateOptions<ClientIpOptions>
{
    private readonly IConfiguration _configuration;

    public ClientIpOptionsValidator(IConfiguration configuration)
    {
        _configuration = configuration;
    }

    public ValidateOptionsResult Validate(string? name, ClientIpOptions options)
    {
        var errors = new List<string>();
        var section = _configuration.GetSection(ClientIpOptions.Section);
        IpNetworks.RequireList(section, nameof(ClientIpOptions.TrustedProxies), errors);
        IpNetworks.Parse(options.TrustedProxies, nameof(ClientIpOptions.TrustedProxies), errors, " (--trusted-proxy)");
        ClientAccess.Validate(section, options, errors);
        if (options.Ipv4PrefixLength is < 8 or > 32)
        {
            errors.Add($"{ClientIpOptions.Section}:Ipv4PrefixLength must be between 8 and 32 (was {options.Ipv4PrefixLength}).");
        }
        if (options.Ipv6PrefixLength is < 16 or > 128)
        {
            errors.Add($"{ClientIpOptions.Section}:Ipv6PrefixLength must be between 16 and 128 (was {options.Ipv6PrefixLength}).");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
