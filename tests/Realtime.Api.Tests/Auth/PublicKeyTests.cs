using System.Security.Cryptography;
using System.Text;
using Microsoft.IdentityModel.Tokens;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Auth;

/// <summary>
/// Tokens signed by a backend's private key and verified with the public half in <c>Realtime:Auth:PublicKey</c>
/// (PEM): RSA for RS256, P-256 for ES256. The node's HS256 secret stays valid beside it.
/// </summary>
public sealed class PublicKeyTests
{
    public static TheoryData<string> Algorithms() => [SecurityAlgorithms.RsaSha256, SecurityAlgorithms.EcdsaSha256];

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task A_token_signed_with_the_private_half_of_the_configured_key_is_accepted_with_its_channels(string algorithm)
    {
        var (privateKey, pem) = NewKey(algorithm);
        await using var server = await StartAsync(pem);

        var token = Jwt.Sign(privateKey, algorithm, "alice", DateTimeOffset.UtcNow.AddHours(1), ["team:7"]);
        await using var client = await TestClient.ConnectAsync(server, token: null);
        Assert.Equal("alice", (await client.CallAsync(new { type = "connect", token })).GetProperty("user").GetString());
        await client.CallAsync(new { type = "subscribe", channel = "team:7" });
        Assert.Equal("forbidden", await client.ErrorAsync(new { type = "subscribe", channel = "team:8" }));

        await using var local = await server.ConnectAsync("bob"); // the HS256 secret still works
        await local.CallAsync(new { type = "ping" });
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public async Task A_token_signed_with_another_key_expired_or_keyed_with_the_public_key_as_an_hmac_secret_is_closed_with_4001(string algorithm)
    {
        var (_, pem) = NewKey(algorithm);
        var (stranger, _) = NewKey(algorithm);
        await using var server = await StartAsync(pem);

        foreach (var (why, token) in new[]
        {
            ("another key", Jwt.Sign(stranger, algorithm, "mallory", DateTimeOffset.UtcNow.AddHours(1))),
            // Algorithm confusion: the public key is no secret, so an HS256 token keyed with it must not pass.
            ("HS256 keyed with the public key", Jwt.Sign(new SymmetricSecurityKey(Encoding.UTF8.GetBytes(pem)), SecurityAlgorithms.HmacSha256,
                "mallory", DateTimeOffset.UtcNow.AddHours(1))),
            ("expired", Jwt.Sign(NewKey(algorithm).PrivateKey, algorithm, "mallory", DateTimeOffset.UtcNow.AddMinutes(-1))),
        })
        {
            await using var client = await TestClient.ConnectAsync(server, token);
            Assert.True(4001 == (int?)await client.WaitClosedAsync(), why);
        }
    }

    [Fact]
    public async Task A_node_with_a_public_key_and_no_secret_starts_and_refuses_hs256_tokens()
    {
        var (privateKey, pem) = NewKey(SecurityAlgorithms.EcdsaSha256);
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Auth:PublicKey"] = pem,
            ["Realtime:Auth:JwtSecret"] = "",
            ["Realtime:Auth:DevTokens"] = "false",
        });

        await using var client = await TestClient.ConnectAsync(server, Jwt.Sign(privateKey, SecurityAlgorithms.EcdsaSha256, "alice", DateTimeOffset.UtcNow.AddHours(1)));
        await client.CallAsync(new { type = "ping" });
        await using var hs256 = await TestClient.ConnectAsync(server, RealtimeServer.Token("bob"));
        Assert.Equal(4001, (int?)await hs256.WaitClosedAsync());
    }

    private static Task<RealtimeServer> StartAsync(string pem) => RealtimeServer.StartAsync(new Dictionary<string, string?>
    {
        ["Realtime:Auth:PublicKey"] = pem,
        ["Realtime:Namespaces:team:Restricted"] = "true",
    });

    private static (SecurityKey PrivateKey, string Pem) NewKey(string algorithm)
    {
        if (algorithm == SecurityAlgorithms.RsaSha256)
        {
            var rsa = RSA.Create(2048);
            return (new RsaSecurityKey(rsa), rsa.ExportSubjectPublicKeyInfoPem());
        }

        var ec = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        return (new ECDsaSecurityKey(ec), ec.ExportSubjectPublicKeyInfoPem());
    }
}
