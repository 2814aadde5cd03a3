using System.Buffers.Text;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Http;
using Microsoft.IdentityModel.Tokens;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>
/// A small OpenID Connect authority on loopback Kestrel: <c>/.well-known/openid-configuration</c> names its issuer
/// and <c>/jwks</c>, which publishes the RSA key it signs with. <see cref="RotateKey"/> swaps in a new key, as an
/// identity provider does; <see cref="DocumentRequests"/> counts how often a node came for the keys.
/// </summary>
public sealed class OpenIdAuthority : IAsyncDisposable
{
    private WebApplication? _app;
    private RSA _rsa = RSA.Create(2048);
    private string _keyId = "key-1";
    private int _documentRequests;

    /// <summary>The authority's URL, which is also its issuer (<c>iss</c>).</summary>
    public string Issuer { get; private set; } = "";

    public int DocumentRequests => Volatile.Read(ref _documentRequests);

    public static async Task<OpenIdAuthority> StartAsync()
    {
        var authority = new OpenIdAuthority();
        (authority._app, authority.Issuer) = await LoopbackHost.StartAsync(app =>
        {
            app.MapGet("/.well-known/openid-configuration", () =>
            {
                Interlocked.Increment(ref authority._documentRequests);
                return Results.Json(new Dictionary<string, string> { ["issuer"] = authority.Issuer, ["jwks_uri"] = $"{authority.Issuer}/jwks" });
            });
            app.MapGet("/jwks", authority.Jwks);
        });
        return authority;
    }

    /// <summary>An RS256 token signed with the authority's current key, naming the key and the issuer.</summary>
    public string Sign(string user, DateTimeOffset? expires = null, string? issuer = null) =>
        Jwt.Sign(new RsaSecurityKey(_rsa) { KeyId = _keyId }, SecurityAlgorithms.RsaSha256, user,
            expires ?? DateTimeOffset.UtcNow.AddHours(1), issuer: issuer ?? Issuer);

    /// <summary>Publishes a new key in place of the old one; tokens signed with the old key no longer verify.</summary>
    public void RotateKey()
    {
        _rsa = RSA.Create(2048);
        _keyId = $"key-{Guid.NewGuid():N}";
    }

    public async ValueTask DisposeAsync()
    {
        await _app!.StopAsync();
        await _app.DisposeAsync();
    }

    private IResult Jwks()
    {
        var key = _rsa.ExportParameters(includePrivateParameters: false);
        return Results.Json(new
        {
            keys = new[]
            {
                new Dictionary<string, string>
                {
                    ["kty"] = "RSA", ["use"] = "sig", ["alg"] = "RS256", ["kid"] = _keyId,
                    ["n"] = Base64Url.EncodeToString(key.Modulus), ["e"] = Base64Url.EncodeToString(key.Exponent),
                },
            },
        });
    }
}
