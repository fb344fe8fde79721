using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Sluice.FakeUpstream;

/// <summary>Self-signed TLS server certificates for 127.0.0.1 and localhost, made fresh, for the fake upstream's HTTPS
/// and for tests that put the gateway itself behind TLS.</summary>
public static class LoopbackCertificate
{
    /// <summary>A certificate (with its private key) valid for a day either side of now.</summary>
    public static X509Certificate2 Create(string subject = "CN=Sluice test server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var made = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // Through PKCS#12 so that the private key is one TLS can use on every platform, not only an ephemeral one.
        return X509CertificateLoader.LoadPkcs12(made.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>Writes <paramref name="certificate"/> and its private key as PEM files (Kestrel's
    /// <c>Certificates:…:Path</c> and <c>KeyPath</c>).</summary>
    public static void WritePem(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        using var key = certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("The certificate has no ECDSA private key.");
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
    }
}
