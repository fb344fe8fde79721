using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.Gateway.Forwarding;

/// <summary>
/// The certificates an HTTPS upstream's certificate must chain to when <see cref="UpstreamOptions.CaCertificate"/> is
/// set (a self-hosted provider behind an internal CA, or with a self-signed certificate), in place of the system's
/// trust store. The host name is still checked against the certificate, as for any HTTPS upstream.
/// </summary>
internal static class UpstreamTrust
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

    /// <summary>TLS options that accept only certificates chaining to <paramref name="roots"/>.</summary>
    public static SslClientAuthenticationOptions Options(X509Certificate2Collection roots)
    {
        var policy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            // As SslStream's own default: no revocation check (an internal CA rarely publishes one the gateway can reach).
            RevocationMode = X509RevocationMode.NoCheck,
        };
        policy.CustomTrustStore.AddRange(roots);
        return new SslClientAuthenticationOptions { CertificateChainPolicy = policy };
    }
}
