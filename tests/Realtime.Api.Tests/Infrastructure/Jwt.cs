using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>Builds tokens for tests with IdentityModel's handler, including deliberately broken ones.</summary>
public static class Jwt
{
    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public static SymmetricSecurityKey Key(string secret) => new(Encoding.UTF8.GetBytes(secret));

    public static string Sign(string secret, string user, DateTimeOffset expires, IReadOnlyList<string>? channels = null) =>
        Sign(Key(secret), SecurityAlgorithms.HmacSha256, user, expires, channels);

    public static string Sign(SecurityKey key, string algorithm, string user, DateTimeOffset expires, IReadOnlyList<string>? channels = null, string? issuer = null)
    {
        var claims = new Dictionary<string, object> { ["sub"] = user };
        if (channels is not null)
        {
            claims["channels"] = channels.ToArray();
        }

        return Handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            Expires = expires.UtcDateTime,
            Issuer = issuer,
            SigningCredentials = new SigningCredentials(key, algorithm),
        });
    }

    /// <summary>An HS256 token with exactly this payload, signed with <paramref name="secret"/>, and extra header fields.</summary>
    public static string SignPayload(string secret, string payloadJson, IDictionary<string, object>? header = null) =>
        Handler.CreateToken(payloadJson, new SigningCredentials(Key(secret), SecurityAlgorithms.HmacSha256), header ?? new Dictionary<string, object>());

    /// <summary>
    /// An HS512 token keyed with the HS256 <paramref name="secret"/>, signed by hand: IdentityModel will not mint HS512
    /// with a key under 512 bits, yet that is the token an attacker holding a leaked HS256 secret would try.
    /// </summary>
    public static string SignHs512(string secret, string payloadJson)
    {
        var input = $"{B64("""{"alg":"HS512","typ":"JWT"}""")}.{B64(payloadJson)}";
        return $"{input}.{Base64Url.EncodeToString(HMACSHA512.HashData(Encoding.UTF8.GetBytes(secret), Encoding.ASCII.GetBytes(input)))}";
    }

    /// <summary>An unsecured token (<c>alg: none</c>, empty signature) with this payload.</summary>
    public static string Unsigned(string payloadJson) => Handler.CreateToken(payloadJson);

    private static string B64(string json) => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
