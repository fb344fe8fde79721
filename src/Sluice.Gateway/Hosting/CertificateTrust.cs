using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Gateway.Hosting;

/// <summary>
/// The certificates a server's TLS certificate must chain to, in place of the system's trust store, when the operator
/// names them: an HTTPS upstream (<c>Sluice:Upstream:CaCertificate</c>, a self-hosted provider behind an internal CA
/// or with a self-signed certificate) or Redis over TLS (<c>Sluice:Redis:CaCertificate</c>). The host name is still
/// checked against the certificate.
/// </summary>
internal static class CertificateTrust
{
    /// <summary>The certificates in <paramref name="path"/> (PEM, one or more, or a single DER certificate).</summary>
    /// <exception cref="InvalidDataException">The file cannot be read or holds no certificate; the message says which.</exception>
    public static X509Certificate2Collection Load(string path)
    {
        var full = Path.GetFullPath(path);
        var certificates = new X509Certificate2Collection();
        try
        {
            var bytes = File.ReadAllBytes(full);
            if (bytes.AsSpan().IndexOf("-----BEGIN"u8) >= 0)
            {
                certificates.ImportFromPem(System.Text.Encoding.ASCII.GetString(bytes));
            }
            else
            {
                certificates.Add(X509CertificateLoader.LoadCertificate(bytes));
            }
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException or CryptographicException)
        {
            throw new InvalidDataException($"'{full}' cannot be read as a certificate: {exception.Message}", exception);
        }
        if (certificates.Count == 0)
        {
            throw new InvalidDataException($"'{full}' holds no certificate (expected PEM '-----BEGIN CERTIFICATE-----' blocks or one DER certificate).");
        }
        return certificates;
    }

    /// <summary>For start-up validation: adds to <paramref name="errors"/> why <paramref name="path"/>, the value of
    /// <paramref name="setting"/>, cannot be used, if it cannot.</summary>
    public static void Check(string path, string setting, List<string> errors)
    {
        try
        {
            Load(path);
        }
        catch (InvalidDataException exception)
        {
            errors.Add($"{setting}: {exception.Message}");
        }
    }

    /// <summary>TLS options that accept only certificates chaining to <paramref name="roots"/>.</summary>
    public static SslClientAuthenticationOptions Options(X509Certificate2Collection roots) =>
        new() { CertificateChainPolicy = Policy(roots) };

    /// <summary>The same rule for a client that takes a validation callback rather than options (StackExchange.Redis):
    /// a certificate for another host is refused; a chain the system does not trust is built again on
    /// <paramref name="roots"/>, with the intermediate certificates the server sent.</summary>
    public static RemoteCertificateValidationCallback Callback(X509Certificate2Collection roots) => (_, certificate, chain, errors) =>
    {
        if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != SslPolicyErrors.None)
        {
            return false;
        }
        using var custom = new X509Chain { ChainPolicy = Policy(roots) };
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                custom.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return custom.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    };

    private static X509ChainPolicy Policy(X509Certificate2Collection roots)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // As SslStream's own default: no revocation check (an internal CA rarely publishes one the gateway can reach).
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        return policy;
    }
}
