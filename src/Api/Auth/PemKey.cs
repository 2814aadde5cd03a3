using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Api.Auth;

/// <summary>Reads the <c>Realtime:Auth:PublicKey</c> PEM: an RSA key verifies RS256, a P-256 EC key ES256.</summary>
internal static class PemKey
{
    public static (SecurityKey Key, string Algorithm) Read(string pem)
    {
        if (!pem.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            throw new FormatException("is not PEM text (-----BEGIN PUBLIC KEY----- …)");
        }

        // The label does not say which kind of key it holds (PUBLIC KEY is either), so try both.
        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
            if (rsa.KeySize < 2048)
            {
                throw new FormatException($"is an RSA key of {rsa.KeySize} bits; RS256 needs at least 2048");
            }

            return (new RsaSecurityKey(rsa), SecurityAlgorithms.RsaSha256);
        }
        catch (ArgumentException)
        {
            rsa.Dispose();
        }
        catch (CryptographicException)
        {
            rsa.Dispose();
        }

        var ec = ECDsa.Create();
        try
        {
            ec.ImportFromPem(pem);
            if (ec.KeySize != 256)
            {
                throw new FormatException($"is an EC key of {ec.KeySize} bits; ES256 needs the P-256 curve");
            }

            return (new ECDsaSecurityKey(ec), SecurityAlgorithms.EcdsaSha256);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ec.Dispose();
            throw new FormatException("holds neither an RSA nor an EC public key", e);
        }
    }
}
