using Microsoft.Extensions.Options;
using Sluice.Gateway.Hosting;

namespace Sluice.Gateway.Forwarding;

internal sealed class UpstreamOptionsValidator : IValidateOptions<UpstreamOptions>
{
    public ValidateOptionsResult Validate(string? name, UpstreamOptions options)
    {
        var errors = new List<string>();
        if (!Uri.TryCreate(options.BaseUrl, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{UpstreamOptions.Section}:BaseUrl must be an absolute http:// or https:// URL (--upstream); was '{options.BaseUrl}'.");
        }
        else if (!string.IsNullOrEmpty(uri.Query) || !string.IsNullOrEmpty(uri.Fragment))
        {
            errors.Add($"{UpstreamOptions.Section}:BaseUrl must not have a query or fragment; was '{options.BaseUrl}'.");
        }
        if (!string.IsNullOrEmpty(options.CaCertificate))
        {
            if (uri is not null && uri.Scheme != Uri.UriSchemeHttps)
            {
                errors.Add($"{UpstreamOptions.Section}:CaCertificate (--upstream-ca) is only for an https:// upstream; BaseUrl is '{options.BaseUrl}'.");
            }
            CertificateTrust.Check(options.CaCertificate, $"{UpstreamOptions.Section}:CaCertificate (--upstream-ca)", errors);
        }
        if (options.Timeout <= TimeSpan.Zero)
        {
            errors.Add($"{UpstreamOptions.Section}:Timeout must be positive (was {options.Timeout}).");
        }
        if (options.ConnectTimeout <= TimeSpan.Zero)
        {
            errors.Add($"{UpstreamOptions.Section}:ConnectTimeout must be positive (was {options.ConnectTimeout}).");
        }
        if (options.ModelsCacheDuration < TimeSpan.Zero)
        {
            errors.Add($"{UpstreamOptions.Section}:ModelsCacheDuration must not be negative (was {options.ModelsCacheDuration}).");
        }
        if (options.ApiKey is { } key && (key.Contains('\n', StringComparison.Ordinal) || key.Contains('\r', StringComparison.Ordinal)))
        {
            errors.Add($"{UpstreamOptions.Section}:ApiKey must be a single line.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
