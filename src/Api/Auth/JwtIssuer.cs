using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Realtime.Api.Auth;

/// <summary>Mints HS256 tokens with the node's secret, for <c>POST /dev/token</c> only.</summary>
public sealed class JwtIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    public (string Token, DateTimeOffset ExpiresAt) Issue(string user, IReadOnlyList<string>? channels)
    {
        var expiresAt = time.GetUtcNow() + options.Value.DevTokenLifetime;
        var header = Base64Url.EncodeToString("""{"alg":"HS256","typ":"JWT"}"""u8);
        using var json = new MemoryStream();
        using (var w = new Utf8JsonWriter(json))
        {
            w.WriteStartObject();
            w.WriteString("sub", user);
            w.WriteNumber("exp", expiresAt.ToUnixTimeSeconds());
            if (channels is { Count: > 0 })
            {
                w.WriteStartArray("channels");
                foreach (var c in channels)
                {
                    w.WriteStringValue(c);
                }

                w.WriteEndArray();
            }

            w.WriteEndObject();
        }

        var payload = Base64Url.EncodeToString(json.ToArray());
        var signature = HMACSHA256.HashData(Encoding.UTF8.GetBytes(options.Value.JwtSecret), Encoding.ASCII.GetBytes($"{header}.{payload}"));
        return ($"{header}.{payload}.{Base64Url.EncodeToString(signature)}", expiresAt);
    }
}
