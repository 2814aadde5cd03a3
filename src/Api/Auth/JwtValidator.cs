using System.Buffers.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Api.Auth;

/// <summary>
/// Validates client tokens with <see cref="JsonWebTokenHandler"/>. Only HS256, RS256 and ES256 are accepted,
/// each only with a key of its own kind, so <c>alg: none</c> and algorithm confusion (an HS256 token keyed
/// with a public key) fail; <c>sub</c> and <c>exp</c> are required, <c>nbf</c> is honoured, with no clock
/// skew. Tested against tokens minted by PyJWT and against an OpenID Connect authority.
/// </summary>
public sealed class JwtValidator
{
    private const int MaxTokenBytes = 8 * 1024;
    private const string KeysUnavailable = "signing keys unavailable";

    private readonly JsonWebTokenHandler _handler = new() { MaximumTokenSizeInBytes = MaxTokenBytes, MapInboundClaims = false };
    private readonly TokenValidationParameters _parameters;
    private readonly ConfigurationManager<OpenIdConnectConfiguration>? _authority;
    private readonly ILogger<JwtValidator> _logger;

    public JwtValidator(IOptions<AuthOptions> options, ILogger<JwtValidator> logger)
    {
        var auth = options.Value;
        _logger = logger;
        var (keys, algorithms) = (new List<SecurityKey>(), new List<string>());
        if (auth.JwtSecret.Length > 0)
        {
            keys.Add(JwtIssuer.SecretKey(auth.JwtSecret));
            algorithms.Add(SecurityAlgorithms.HmacSha256);
        }

        if (auth.PublicKey.Length > 0)
        {
            var (key, algorithm) = PemKey.Read(auth.PublicKey);
            keys.Add(key);
            algorithms.Add(algorithm);
        }

        var authority = _authority = AuthorityConfiguration.Create(auth);
        if (authority is not null)
        {
            algorithms.AddRange([SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256]);
        }

        _parameters = new TokenValidationParameters
        {
            IssuerSigningKeys = keys,
            ConfigurationManager = authority,
            ValidAlgorithms = algorithms.Distinct().ToArray(),
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = TimeSpan.Zero,
            ValidateIssuer = true,
            IssuerValidatorUsingConfiguration = (issuer, token, _, configuration) => ValidateIssuer(auth, issuer, token, configuration),
            ValidateAudience = auth.Audience.Length > 0,
            ValidAudience = auth.Audience.Length > 0 ? auth.Audience : null,
        };
    }

    /// <summary>The token's claims, or null and why it was refused (said to the client in the 4001 close).</summary>
    public async Task<(TokenClaims? Claims, string Problem)> ValidateAsync(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (null, "no token");
        }

        if (token.Length > MaxTokenBytes)
        {
            return (null, "token too long");
        }

        var result = await _handler.ValidateTokenAsync(token, _parameters).ConfigureAwait(false);
        if (result.IsValid)
        {
            return ReadClaims((JsonWebToken)result.SecurityToken);
        }

        // The handler treats an authority it cannot reach as a key it cannot find; tell the two apart, so the
        // operator sees why every authority token is refused.
        if (result.Exception is SecurityTokenSignatureKeyNotFoundException && await AuthorityFailureAsync().ConfigureAwait(false) is { } down)
        {
            AuthLog.ValidationFailed(_logger, down, KeysUnavailable);
            return (null, KeysUnavailable);
        }

        return (null, Describe(result.Exception));
    }

    // Null once the authority's keys were read; the manager keeps them while later refreshes fail.
    private async Task<Exception?> AuthorityFailureAsync()
    {
        if (_authority is null)
        {
            return null;
        }

        try
        {
            await _authority.GetConfigurationAsync(CancellationToken.None).ConfigureAwait(false);
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or HttpRequestException)
        {
            return e;
        }
    }

    private static string Describe(Exception? e) => e switch
    {
        SecurityTokenExpiredException => "token expired",
        SecurityTokenNotYetValidException => "token not valid yet",
        SecurityTokenNoExpirationException => "token has no 'exp'",
        SecurityTokenInvalidAlgorithmException => "token algorithm not accepted",
        SecurityTokenSignatureKeyNotFoundException or SecurityTokenInvalidSignatureException => "bad token signature",
        SecurityTokenInvalidIssuerException => "token issuer not accepted",
        SecurityTokenInvalidAudienceException => "token audience not accepted",
        SecurityTokenMalformedException or ArgumentException => "malformed token",
        _ => "invalid token",
    };

    // A key from the authority vouches only for the authority's issuer; the node's own keys for Issuer when set.
    private static string ValidateIssuer(AuthOptions auth, string issuer, SecurityToken token, BaseConfiguration? configuration)
    {
        var key = ((JsonWebToken)token).SigningKey;
        var expected = configuration is not null && configuration.SigningKeys.Contains(key) ? configuration.Issuer : auth.Issuer;
        if (expected.Length > 0 && !string.Equals(issuer, expected, StringComparison.Ordinal))
        {
            throw new SecurityTokenInvalidIssuerException("the token's issuer is not the one its key belongs to") { InvalidIssuer = issuer };
        }

        return issuer;
    }

    // The handler has checked the signature and the lifetime; what the protocol needs of the claims is checked
    // here on the payload itself, so a 'channels' that is not an array of strings is refused, not coerced.
    private static (TokenClaims?, string) ReadClaims(JsonWebToken token)
    {
        // RFC 7515 4.1.11: a recipient must refuse critical extensions it does not understand, and it knows none.
        using (var header = JsonDocument.Parse(Base64Url.DecodeFromChars(token.EncodedHeader)))
        {
            if (header.RootElement.TryGetProperty("crit", out _))
            {
                return (null, "token header 'crit' is not supported");
            }
        }

        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.EncodedPayload));
        var root = payload.RootElement;
        if (!root.TryGetProperty("sub", out var sub) || sub.ValueKind != JsonValueKind.String || sub.GetString() is not { } user || !Contracts.Users.UserIds.IsValid(user))
        {
            return (null, "token has no 'sub'");
        }

        var channels = new List<string>();
        if (root.TryGetProperty("channels", out var granted))
        {
            if (granted.ValueKind != JsonValueKind.Array || granted.EnumerateArray().Any(c => c.ValueKind != JsonValueKind.String))
            {
                return (null, "token 'channels' must be an array of strings");
            }

            channels.AddRange(granted.EnumerateArray().Select(c => c.GetString()!));
        }

        return (new TokenClaims(user, new DateTimeOffset(token.ValidTo, TimeSpan.Zero), channels), "");
    }
}
