using System.Net;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Reflection;
using System.Reflection.Emit;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Realtime.Api.Rest;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Security;

/// <summary>
/// What an attacker could learn or reach: tokens never reach the logs, API keys are compared in
/// constant time, internal failures reach clients as a bare "internal", and restricted namespaces
/// hold for every socket command. Cross-site WebSocket hijacking (a foreign Origin gets 403 before
/// the upgrade) is covered by ConnectTests.A_foreign_origin_gets_403_before_the_upgrade_and_no_session_is_opened.
/// </summary>
public sealed class SecurityTests
{
    [Fact]
    public async Task A_token_in_the_query_string_or_in_connect_never_reaches_any_log_at_trace_level()
    {
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Trace",
            ["Realtime:Limits:MaxConnectionsPerUser"] = "1",
        }, services => services.AddSingleton<ILoggerProvider>(logs));
        var good = RealtimeServer.Token("alice");
        var forged = Jwt.Sign("not-the-server-secret-0123456789-abcdef", "mallory", DateTimeOffset.UtcNow.AddHours(1));
        var expired = RealtimeServer.Token("carol", lifetime: TimeSpan.FromHours(-1));
        var refreshed = RealtimeServer.Token("alice", lifetime: TimeSpan.FromHours(2));
        var overLimit = RealtimeServer.Token("alice", lifetime: TimeSpan.FromHours(3));
        var garbage = "not.a-jwt." + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

        // A good token: connect, refresh it, and use the session.
        await using var alice = await TestClient.ConnectAsync(server, good);
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
        await alice.CallAsync(new { type = "connect", token = refreshed });
        await alice.CallAsync(new { type = "publish", channel = "chat:lobby", data = "hi" });

        // Refused tokens: forged, expired, malformed (query and connect), and one past the user's connection limit.
        foreach (var refused in new[] { forged, expired, garbage, overLimit })
        {
            await using var client = await TestClient.ConnectAsync(server, refused);
            Assert.NotNull(await client.WaitClosedAsync());
        }

        await using (var anonymous = await TestClient.ConnectAsync(server, token: null))
        {
            await anonymous.SendTextAsync($$"""{"id":1,"type":"connect","token":"{{forged}}"}""");
            Assert.Equal((WebSocketCloseStatus)4001, await anonymous.WaitClosedAsync());
        }

        // A plain GET and a foreign Origin with a token on the URL are refused before any session exists.
        using (var plain = await server.Http.GetAsync($"/ws?token={good}"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, plain.StatusCode);
        }

        await Assert.ThrowsAnyAsync<WebSocketException>(() => TestClient.ConnectAsync(server, good, origin: "https://evil.example.com"));
        await alice.DisposeAsync();
        await Eventually.TrueAsync(() => logs.Entries.Any(e => e.Message.Contains("closed", StringComparison.Ordinal)), "the session's close is logged");

        Assert.True(logs.Entries.Count > 10, $"trace logging is on ({logs.Entries.Count} entries)");
        foreach (var token in new[] { good, forged, expired, refreshed, overLimit, garbage })
        {
            // The signature alone is the secret part of a token: no part of it may appear either.
            var signature = token[(token.LastIndexOf('.') + 1)..];
            var leaks = logs.Entries.Where(e => e.FullText.Contains(signature, StringComparison.Ordinal)).ToList();
            Assert.True(leaks.Count == 0, $"a token reached the logs:\n{string.Join("\n", leaks)}");
        }
    }

    [Fact]
    public void The_api_key_check_compares_sha256_digests_with_FixedTimeEquals_and_no_early_exit()
    {
        var allows = typeof(ApiKeyFilter).GetMethod(nameof(ApiKeyFilter.Allows))!;
        var digest = typeof(ApiKeyFilter).GetMethod("Digest", BindingFlags.NonPublic | BindingFlags.Static)!;

        var calls = CalledMethods(allows);
        Assert.Contains(calls, m => m.DeclaringType == typeof(CryptographicOperations) && m.Name == nameof(CryptographicOperations.FixedTimeEquals));
        Assert.Contains(digest, calls);
        Assert.Contains(CalledMethods(digest), m => m.DeclaringType == typeof(SHA256) && m.Name == nameof(SHA256.HashData));

        // Nothing that compares the presented key itself, and one way out: every known key is compared.
        Assert.DoesNotContain(calls, m => m.Name is "Equals" or "op_Equality" or "SequenceEqual" or "StartsWith" or "CompareOrdinal" or "Compare");
        Assert.Single(Instructions(allows), i => i.OpCode == OpCodes.Ret);
    }

    [Fact]
    public async Task Api_keys_of_every_length_are_refused_unless_exact()
    {
        const string shortKey = "k1";
        var longKey = new string('k', 64);
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Api:Keys:0"] = shortKey,
            ["Realtime:Api:Keys:1"] = longKey,
        });

        foreach (var key in new[] { shortKey, longKey })
        {
            Assert.Equal(HttpStatusCode.OK, await InfoStatusAsync(server, key));
        }

        foreach (var wrong in new[] { "", "k", "K1", "k2", longKey[..63], longKey + "k", longKey.ToUpperInvariant(), new string('k', 10_000), RealtimeServer.ApiKey })
        {
            Assert.True(await InfoStatusAsync(server, wrong) == HttpStatusCode.Unauthorized, $"a key of {wrong.Length} characters got in");
        }

        // Past Kestrel's header limit a key never reaches the check at all.
        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, await InfoStatusAsync(server, new string('k', 100_000)));
    }

    [Fact]
    public async Task An_internal_failure_reaches_socket_and_rest_clients_as_a_bare_internal_error_and_the_details_go_to_the_log()
    {
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(services: services =>
        {
            services.AddSingleton<ILoggerProvider>(logs);
            services.AddSingleton(sp => FailingEngine.Wrap(ActivatorUtilities.CreateInstance<Realtime.Grains.Stores.Memory.MemoryEngine>(sp)));
        });
        await using var alice = await server.ConnectAsync("alice");

        var replies = new List<string>
        {
            (await alice.RequestAsync(new { type = "publish", channel = "boom:a", data = 1 })).GetRawText(),
            (await alice.RequestAsync(new { type = "history", channel = "boom:a" })).GetRawText(),
        };
        foreach (var reply in replies)
        {
            var error = JsonDocument.Parse(reply).RootElement.GetProperty("error");
            Assert.Equal("internal", error.GetProperty("code").GetString());
        }

        using var publish = await server.Http.PostAsJsonAsync("/api/channels/boom:a/messages", new { data = 1 });
        using var history = await server.Http.GetAsync("/api/channels/boom:a/history");
        foreach (var response in new[] { publish, history })
        {
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            replies.Add(await response.Content.ReadAsStringAsync());
        }

        foreach (var body in replies)
        {
            Assert.DoesNotContain(FailingEngine.Secret, body, StringComparison.Ordinal);
            Assert.DoesNotContain("at Realtime.", body, StringComparison.Ordinal);
            Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
            Assert.DoesNotContain(".cs:line", body, StringComparison.Ordinal);
        }

        // The operator still gets the whole story, and the socket goes on working.
        Assert.Contains(logs.Entries, e => e.Level >= LogLevel.Error && e.FullText.Contains(FailingEngine.Secret, StringComparison.Ordinal));
        await alice.CallAsync(new { type = "publish", channel = "chat:fine", data = 1 });
    }

    [Fact]
    public async Task A_restricted_namespace_also_refuses_recovery_and_no_message_reaches_a_socket_without_the_claim()
    {
        // BadInputTests covers subscribe, publish, history and presence one by one; this adds recovery
        // (subscribe with since) and checks that nothing leaks to a refused socket.
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:team:Restricted"] = "true" });
        await using var member = await server.ConnectAsync("member", ["team:7"]);
        await using var outsider = await server.ConnectAsync("outsider", ["team:70", "team:7:*", "chat:*"]);
        var subscribed = await member.CallAsync(new { type = "subscribe", channel = "team:7" });
        var epoch = subscribed.GetProperty("epoch").GetString();
        await member.CallAsync(new { type = "publish", channel = "team:7", data = "secret plan" });

        Assert.Equal("forbidden", await outsider.ErrorAsync(new { type = "subscribe", channel = "team:7", since = new { epoch, offset = 0 } }));
        Assert.Equal("forbidden", await outsider.ErrorAsync(new { type = "history", channel = "team:7", since = new { epoch, offset = 0 } }));
        Assert.Equal("forbidden", await outsider.ErrorAsync(new { type = "history", channel = "team:7", before = 5 }));
        Assert.Equal("forbidden", await outsider.ErrorAsync(new { type = "presence", channel = "team:7" }));
        await member.CallAsync(new { type = "publish", channel = "team:7", data = "second" });

        Assert.DoesNotContain(outsider.Frames, f => f.GetRawText().Contains("secret plan", StringComparison.Ordinal) || f.GetRawText().Contains("second", StringComparison.Ordinal));
        Assert.True(await outsider.NoPushAsync("message", TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task The_rest_api_is_trusted_by_design_and_reaches_restricted_namespaces_with_the_api_key_only()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:team:Restricted"] = "true" });

        // The app backend holds the API key and speaks for its users: no channels claim applies to it.
        var published = await server.PostAsync<JsonElement>("/api/channels/team:7/messages", new { data = "from the backend" });
        Assert.Equal(1, published.GetProperty("offset").GetInt64());
        using var history = await server.Http.GetAsync("/api/channels/team:7/history");
        Assert.Equal(HttpStatusCode.OK, history.StatusCode);

        using var anonymous = new HttpClient { BaseAddress = server.BaseUri };
        using var refused = await anonymous.GetAsync("/api/channels/team:7/history");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    private static async Task<HttpStatusCode> InfoStatusAsync(RealtimeServer server, string key)
    {
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/info");
        request.Headers.TryAddWithoutValidation(ApiKeyFilter.Header, key);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static List<MethodBase> CalledMethods(MethodInfo method) =>
        Instructions(method)
            .Where(i => i.OpCode == OpCodes.Call || i.OpCode == OpCodes.Callvirt || i.OpCode == OpCodes.Newobj)
            .Select(i => method.Module.ResolveMethod(i.Operand, method.DeclaringType!.GetGenericArguments(), null))
            .OfType<MethodBase>()
            .ToList();

    // A small IL walker: enough to list the instructions of one method with their 4-byte operands.
    private static List<(OpCode OpCode, int Operand)> Instructions(MethodInfo method)
    {
        var codes = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static).Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(c => (ushort)c.Value);
        var il = method.GetMethodBody()!.GetILAsByteArray()!;
        var result = new List<(OpCode, int)>();
        for (var at = 0; at < il.Length;)
        {
            ushort value = il[at] == 0xFE ? (ushort)(0xFE00 | il[at + 1]) : il[at];
            var code = codes[value];
            at += code.Size;
            var operandSize = code.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + (4 * BitConverter.ToInt32(il, at)),
                _ => 4,
            };
            result.Add((code, operandSize == 4 ? BitConverter.ToInt32(il, at) : 0));
            at += operandSize;
        }

        return result;
    }
}
