using System.Buffers;
using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Realtime.Api.Auth;

/// <summary>
/// Strict HS256 JWT validation on the framework's own crypto (the JwtBearer 10.x packages cannot be
/// restored here). Only <c>alg: HS256</c> is accepted, so <c>none</c> and algorithm confusion fail;
/// the signature is compared in constant time; <c>sub</c> and <c>exp</c> are required; <c>nbf</c> is
/// honoured when present. Tested against tokens minted by PyJWT.
/// </summary>
public sealed class JwtValidator(IOptions<AuthOptions> options, TimeProvider time)
{
    private const int MaxTokenLength = 8 * 1024;
    private readonly byte[] _key = Encoding.UTF8.GetBytes(options.Value.JwtSecret);

    public bool TryValidate(string? token, out TokenClaims? claims, out string problem)
    {
        claims = null;
        problem = Validate(token, ref claims);
        return claims is not null;
    }

    private string Validate(string? token, ref TokenClaims? claims)
    {
        if (string.IsNullOrEmpty(token))
        {
            return "no token";
        }

        if (token.Length > MaxTokenLength)
        {
            return "token too long";
        }

        var parts = token.Split('.');
        if (parts.Length != 3)
        {
            return "malformed token";
        }

        if (!TryDecode(parts[0], out var header) || !TryDecode(parts[1], out var payload) || !TryDecode(parts[2], out var signature))
        {
            return "malformed token";
        }

        if (!HeaderIsHs256(header))
        {
            return "token must be signed with HS256";
        }

        Span<byte> expected = stackalloc byte[32];
        var signed = Encoding.ASCII.GetBytes(token, 0, parts[0].Length + 1 + parts[1].Length);
        HMACSHA256.HashData(_key, signed, expected);
        if (!CryptographicOperations.FixedTimeEquals(expected, signature))
        {
            return "bad token signature";
        }

        return ReadClaims(payload, ref claims);
    }

    private string ReadClaims(byte[] payload, ref TokenClaims? claims)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return "malformed token";
            }

            if (!root.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || sub.GetString() is not { Length: > 0 and <= 200 } user)
            {
                return "token has no 'sub'";
            }

            if (!root.TryGetProperty("exp", out var exp) || exp.ValueKind != JsonValueKind.Number || !exp.TryGetDouble(out var expSeconds))
            {
                return "token has no 'exp'";
            }

            var now = time.GetUtcNow();
            var expiresAt = DateTimeOffset.FromUnixTimeMilliseconds((long)Math.Min(expSeconds * 1000, 253402300799000));
            if (expiresAt <= now)
            {
                return "token expired";
            }

            if (root.TryGetProperty("nbf", out var nbf) && (!nbf.TryGetDouble(out var nbfSeconds) || DateTimeOffset.FromUnixTimeMilliseconds((long)(nbfSeconds * 1000)) > now))
            {
                return "token not valid yet";
            }

            var channels = new List<string>();
            if (root.TryGetProperty("channels", out var granted))
            {
                if (granted.ValueKind != JsonValueKind.Array || granted.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
                {
                    return "token 'channels' must be an array of strings";
                }

                channels.AddRange(granted.EnumerateArray().Select(c => c.GetString()!));
            }

            claims = new TokenClaims(user, expiresAt, channels);
            return "";
        }
        catch (JsonException)
        {
            return "malformed token";
        }
    }

    private static bool HeaderIsHs256(byte[] header)
    {
        try
        {
            using var doc = JsonDocument.Parse(header);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("alg", out var alg)
                && alg.ValueKind == JsonValueKind.String
                && alg.ValueEquals("HS256"u8)
                && !doc.RootElement.TryGetProperty("crit", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool TryDecode(string part, out byte[] bytes)
    {
        bytes = [];
        if (part.Length == 0 || Base64Url.GetMaxDecodedLength(part.Length) > MaxTokenLength)
        {
            return false;
        }

        var buffer = new byte[Base64Url.GetMaxDecodedLength(part.Length)];
        if (Base64Url.DecodeFromChars(part, buffer, out var consumed, out var written) != OperationStatus.Done || consumed != part.Length)
        {
            return false;
        }

        bytes = buffer[..written];
        return true;
    }
}
