using Microsoft.IdentityModel.Protocols;
using Microsoft.IdentityModel.Protocols.OpenIdConnect;

namespace Realtime.Api.Auth;

/// <summary>
/// The signing keys and issuer of <c>Realtime:Auth:Authority</c>, read from its OpenID Connect discovery
/// document and the JWKS it names. The manager caches them, refreshes them every 12 hours, and at once
/// (then at most every 5 minutes) when a token names a key it does not know, so a rotated key is picked up
/// without a restart. A node starts even while the authority is unreachable: keys are fetched on first use.
/// </summary>
internal static class AuthorityConfiguration
{
    public static ConfigurationManager<OpenIdConnectConfiguration>? Create(AuthOptions options)
    {
        if (options.Authority.Length == 0)
        {
            return null;
        }

        // One client for the node's lifetime: pooled connections are renewed every few minutes so a moved
        // authority (DNS) is followed, which a client kept from IHttpClientFactory would not do.
        var http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(10) };

        var metadata = $"{options.Authority.TrimEnd('/')}/.well-known/openid-configuration";
        return new ConfigurationManager<OpenIdConnectConfiguration>(metadata, new OpenIdConnectConfigurationRetriever(),
            new HttpDocumentRetriever(http) { RequireHttps = options.RequireHttpsMetadata });
    }
}
