using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Realtime.Bench.Shared;

/// <summary>
/// HS256 client tokens, signed with the node's <c>Realtime:Auth:JwtSecret</c>. One file, compiled into each
/// bench tool that needs it (ClusterProbe, SoakDriver).
/// </summary>
internal static class Token
{
    public static string Sign(string secret, string user, TimeSpan lifetime)
    {
        var header = JsonSerializer.Serialize(new { alg = "HS256", typ = "JWT" });
        var claims = JsonSerializer.Serialize(new { sub = user, exp = DateTimeOffset.UtcNow.Add(lifetime).ToUnixTimeSeconds() });
        var signingInput = $"{B64(header)}.{B64(claims)}";
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(signingInput));
        return $"{signingInput}.{Base64Url.EncodeToString(signature)}";
    }

    private static string B64(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
