using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Auth;

/// <summary>
/// Tokens from an OpenID Connect identity provider (<c>Realtime:Auth:Authority</c>): the node reads the signing
/// keys from the authority's discovery document and JWKS, here served by a Kestrel host of the test's own.
/// </summary>
public sealed class AuthorityTests
{
    [Fact]
    public async Task A_token_signed_with_the_authoritys_published_key_is_accepted_and_its_shared_secret_still_works()
    {
        await using var authority = await OpenIdAuthority.StartAsync();
        await using var server = await StartAsync(authority);

        await using var client = await TestClient.ConnectAsync(server, token: null);
        var connected = await client.CallAsync(new { type = "connect", token = authority.Sign("oidc-user") });
        Assert.Equal("oidc-user", connected.GetProperty("user").GetString());
        await client.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        await using var local = await server.ConnectAsync("local-user"); // HS256 with the node's secret, beside the authority
        await local.CallAsync(new { type = "ping" });
    }

    [Fact]
    public async Task A_token_from_another_issuer_or_signed_with_an_unpublished_key_is_closed_with_4001()
    {
        await using var authority = await OpenIdAuthority.StartAsync();
        await using var impostor = await OpenIdAuthority.StartAsync();
        await using var server = await StartAsync(authority);

        foreach (var (why, token) in new[]
        {
            ("another issuer", authority.Sign("mallory", issuer: "https://elsewhere.example")),
            ("a key the authority never published", impostor.Sign("mallory", issuer: authority.Issuer)),
            ("expired", authority.Sign("mallory", expires: DateTimeOffset.UtcNow.AddMinutes(-1))),
        })
        {
            await using var client = await TestClient.ConnectAsync(server, token);
            Assert.True(4001 == (int?)await client.WaitClosedAsync(), why);
        }
    }

    [Fact]
    public async Task A_key_the_authority_rotates_in_is_picked_up_without_a_restart()
    {
        await using var authority = await OpenIdAuthority.StartAsync();
        await using var server = await StartAsync(authority);
        await using (var first = await TestClient.ConnectAsync(server, authority.Sign("alice")))
        {
            await first.CallAsync(new { type = "ping" });
        }

        authority.RotateKey();
        var rotated = authority.Sign("alice");

        // A token naming a key the node has not seen makes it fetch the keys again in the background (at most every
        // 5 minutes); until they arrive such a token is refused, so the client's reconnect is what gets in.
        await Eventually.TrueAsync(async () =>
        {
            await using var client = await TestClient.ConnectAsync(server, token: null);
            await client.SendTextAsync($$"""{"id":1,"type":"connect","token":"{{rotated}}"}""");
            var reply = await Task.WhenAny(client.NextPushAsync(), client.Closed);
            return reply is Task<System.Text.Json.JsonElement> { IsCompletedSuccessfully: true } frame && frame.Result.TryGetProperty("result", out _);
        }, "a token signed with the rotated key is accepted", TimeSpan.FromSeconds(30));
        Assert.True(authority.DocumentRequests >= 2, $"the discovery document was read {authority.DocumentRequests} times");
    }

    [Fact]
    public async Task While_the_authority_is_down_its_tokens_are_refused_with_4001_and_a_warning_and_other_tokens_still_work()
    {
        var authority = await OpenIdAuthority.StartAsync();
        var token = authority.Sign("alice");
        await authority.DisposeAsync();
        var logs = new LogCapture();
        await using var server = await StartAsync(authority, logs);

        await using var client = await TestClient.ConnectAsync(server, token);
        Assert.Equal(4001, (int?)await client.WaitClosedAsync());
        var disconnect = await client.NextPushAsync("disconnect");
        Assert.Equal("signing keys unavailable", disconnect.GetProperty("reason").GetString());
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Warning && e.EventId.Id == 500 && e.Category.StartsWith("Realtime.Api.Auth", StringComparison.Ordinal));

        await using var local = await server.ConnectAsync("bob");
        await local.CallAsync(new { type = "ping" });
    }

    private static Task<RealtimeServer> StartAsync(OpenIdAuthority authority, LogCapture? logs = null) =>
        RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Auth:Authority"] = authority.Issuer,
            ["Realtime:Auth:RequireHttpsMetadata"] = "false", // the test's authority speaks plain HTTP on loopback
        }, services =>
        {
            if (logs is not null)
            {
                services.AddSingleton<ILoggerProvider>(logs);
            }
        });
}
