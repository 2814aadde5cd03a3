using System.ComponentModel.DataAnnotations;

namespace Realtime.Api.Auth;

/// <summary>
/// Token settings, bound from <c>Realtime:Auth</c>. A node accepts tokens signed by any key it is given:
/// the shared HS256 secret, one public key (RS256 or ES256) and the keys an OpenID Connect authority
/// publishes. <see cref="AuthOptionsValidator"/> checks that at least one is set and that each one works.
/// </summary>
public sealed class AuthOptions
{
    public const string Section = "Realtime:Auth";

    /// <summary>The HS256 key that signs client tokens; at least 32 characters. Needed for dev tokens.</summary>
    public string JwtSecret { get; set; } = "";

    /// <summary>A PEM public key (RSA for RS256, P-256 EC for ES256) whose private half signs client tokens.</summary>
    public string PublicKey { get; set; } = "";

    /// <summary>
    /// An OpenID Connect issuer (<c>https://login.example.com/realm</c>): its signing keys are read from the
    /// JWKS its <c>/.well-known/openid-configuration</c> names, cached and refreshed, and its tokens must carry
    /// its <c>iss</c>.
    /// </summary>
    public string Authority { get; set; } = "";

    /// <summary>Off only for a test authority on plain HTTP: in production its keys must come over TLS.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>When set, tokens signed with <see cref="JwtSecret"/> or <see cref="PublicKey"/> must carry this <c>iss</c>.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>When set, every token's <c>aud</c> must include it.</summary>
    public string Audience { get; set; } = "";

    /// <summary>Serves <c>POST /dev/token</c>, which mints a token for any user. Never in production.</summary>
    public bool DevTokens { get; set; }

    /// <summary>How long a dev token lives.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan DevTokenLifetime { get; set; } = TimeSpan.FromHours(1);
}
