using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>Builds tokens for tests, including deliberately broken ones.</summary>
public static class Jwt
{
    public static string Sign(string secret, string user, DateTimeOffset expires, IReadOnlyList<string>? channels = null, string alg = "HS256")
    {
        var claims = new Dictionary<string, object> { ["sub"] = user, ["exp"] = expires.ToUnixTimeSeconds() };
        if (channels is not null)
        {
            claims["channels"] = channels;
        }

        return SignRaw(secret, JsonSerializer.Serialize(new { alg, typ = "JWT" }), JsonSerializer.Serialize(claims));
    }

    public static string SignRaw(string secret, string headerJson, string payloadJson)
    {
        var signingInput = $"{B64(headerJson)}.{B64(payloadJson)}";
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    public static string B64(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
