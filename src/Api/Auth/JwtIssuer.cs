using System.Text;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Api.Auth;

/// <summary>Mints HS256 tokens with the node's secret, for <c>POST /dev/token</c> only.</summary>
public sealed class JwtIssuer(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };

    /// <summary>The HS256 key made of <c>Realtime:Auth:JwtSecret</c>, for minting and validating alike.</summary>
    public static SymmetricSecurityKey SecretKey(string secret) => new(Encoding.UTF8.GetBytes(secret));

    public (string Token, DateTimeOffset ExpiresAt) Issue(string user, IReadOnlyList<string>? channels)
    {
        var auth = options.Value;
        var now = time.GetUtcNow();
        // exp is whole seconds on the wire: report the expiry the token really carries.
        var expiresAt = DateTimeOffset.FromUnixTimeSeconds((now + auth.DevTokenLifetime).ToUnixTimeSeconds());
        var claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = user };
        if (channels is { Count: > 0 })
        {
            claims["channels"] = channels.ToArray();
        }

        var token = _handler.CreateToken(new SecurityTokenDescriptor
        {
            Claims = claims,
            IssuedAt = now.UtcDateTime,
            Expires = expiresAt.UtcDateTime,
            Issuer = auth.Issuer.Length > 0 ? auth.Issuer : null,
            Audience = auth.Audience.Length > 0 ? auth.Audience : null,
            SigningCredentials = new SigningCredentials(SecretKey(auth.JwtSecret), SecurityAlgorithms.HmacSha256),
        });
        return (token, expiresAt);
    }
}
