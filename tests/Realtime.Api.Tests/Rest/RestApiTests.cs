using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Rest;

/// <summary>The server-to-server REST API (SPEC §7), its key, its problem details, and the node's HTTP endpoints.</summary>
public sealed class RestApiTests
{
    /// <summary>Every /api route, each with a body it would accept.</summary>
    private static readonly (HttpMethod Method, string Path, string? Body)[] ApiRoutes =
    [
        (HttpMethod.Post, "/api/channels/chat:a/messages", """{"data":1}"""),
        (HttpMethod.Post, "/api/broadcast", """{"channels":["chat:a","chat:b"],"data":1}"""),
        (HttpMethod.Get, "/api/channels/chat:a/history", null),
        (HttpMethod.Get, "/api/channels/chat:a/presence", null),
        (HttpMethod.Post, "/api/users/alice/notifications", """{"data":1}"""),
        (HttpMethod.Post, "/api/notifications", """{"users":["alice"],"data":1}"""),
        (HttpMethod.Post, "/api/users/alice/messages", """{"data":1}"""),
        (HttpMethod.Get, "/api/users/alice/notifications", null),
        (HttpMethod.Post, "/api/users/alice/notifications/read", """{"ids":["n1"]}"""),
        (HttpMethod.Post, "/api/users/alice/disconnect", "{}"),
        (HttpMethod.Get, "/api/info", null),
    ];

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("wrong-key")]
    [InlineData("TEST-API-KEY")]
    public async Task Every_api_route_without_the_right_key_is_401_problem_details_and_does_nothing(string? key)
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        foreach (var (method, path, body) in ApiRoutes)
        {
            using var request = new HttpRequestMessage(method, path);
            if (key is not null)
            {
                request.Headers.TryAddWithoutValidation("X-Api-Key", key);
            }

            if (body is not null)
            {
                request.Content = new StringContent(body, Encoding.UTF8, "application/json");
            }

            using var response = await http.SendAsync(request);
            Assert.Equal((path, HttpStatusCode.Unauthorized), (path, response.StatusCode));
            await AssertProblemAsync(response, 401);
        }

        Assert.Equal(0, (await GetJsonAsync(server, "/api/channels/chat:a/history")).GetProperty("offset").GetInt64());
        Assert.Empty((await GetJsonAsync(server, "/api/users/alice/notifications")).GetProperty("items").EnumerateArray());
        await alice.CallAsync(new { type = "ping" }); // the disconnect route did not disconnect anyone
    }

    [Theory]
    [InlineData("{not json", "application/json")]
    [InlineData("[]", "application/json")]
    [InlineData("""{"data":1""", "application/json")]
    public async Task A_caller_without_the_key_gets_401_even_for_a_body_the_api_could_not_read(string body, string contentType)
    {
        await using var server = await RealtimeServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.PostAsync("/api/channels/chat:a/messages", new StringContent(body, Encoding.UTF8, contentType));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        await AssertProblemAsync(response, 401);
    }

    [Fact]
    public async Task An_authorization_header_is_not_a_substitute_for_the_api_key()
    {
        await using var server = await RealtimeServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", RealtimeServer.ApiKey);

        using var response = await http.GetAsync("/api/info");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("/api/channels/chat:a/messages", "{not json")]
    [InlineData("/api/channels/chat:a/messages", """{"data":1""")]
    [InlineData("/api/channels/chat:a/messages", """{"idempotencyKey":"k1"}""")]
    [InlineData("/api/channels/chat:a/messages", "[]")]
    [InlineData("/api/channels/chat:a/messages", """{"data":1,"idempotencyKey":5}""")]
    [InlineData("/api/channels/chat%20a!/messages", """{"data":1}""")]
    [InlineData("/api/channels/chat:a:/messages", """{"data":1}""")]
    [InlineData("/api/broadcast", """{"channels":[],"data":1}""")]
    [InlineData("/api/broadcast", """{"channels":["chat:a","bad name"],"data":1}""")]
    [InlineData("/api/broadcast", """{"channels":["chat:a"]}""")]
    [InlineData("/api/users/alice/notifications", """{"deliverAt":"soon","data":1}""")]
    [InlineData("/api/notifications", """{"users":[],"data":1}""")]
    [InlineData("/api/users/alice/messages", "{}")]
    public async Task A_bad_post_body_or_name_is_400_problem_details_and_stores_nothing(string path, string body)
    {
        await using var server = await RealtimeServer.StartAsync();

        using var response = await server.Http.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
        Assert.Equal(0, (await GetJsonAsync(server, "/api/channels/chat:a/history")).GetProperty("offset").GetInt64());
    }

    /// <summary>Bodies the mark-read route must refuse: no ids, an empty list, not an array, ids that are not
    /// 1 to 200 characters of text, and more ids than the socket's <c>read</c> takes.</summary>
    public static TheoryData<string, string> BadReadRequests => new()
    {
        { "/api/users/alice/notifications/read", "{}" },
        { "/api/users/alice/notifications/read", """{"ids":null}""" },
        { "/api/users/alice/notifications/read", """{"ids":[]}""" },
        { "/api/users/alice/notifications/read", """{"ids":"n1"}""" },
        { "/api/users/alice/notifications/read", """{"ids":{"0":"n1"}}""" },
        { "/api/users/alice/notifications/read", """{"ids":[1,2]}""" },
        { "/api/users/alice/notifications/read", """{"ids":[null]}""" },
        { "/api/users/alice/notifications/read", """{"ids":[""]}""" },
        { "/api/users/alice/notifications/read", $$"""{"ids":["{{new string('x', 201)}}"]}""" },
        { "/api/users/alice/notifications/read", $$"""{"ids":[{{string.Join(",", Enumerable.Repeat("\"n1\"", 1001))}}]}""" },
        { "/api/users/alice/notifications/read", "[]" },
        { "/api/users/alice/notifications/read", "{not json" },
        { $"/api/users/{new string('u', 201)}/notifications/read", """{"ids":["n1"]}""" },
    };

    [Theory]
    [MemberData(nameof(BadReadRequests))]
    public async Task A_bad_mark_read_body_or_user_is_400_problem_details_and_marks_nothing_read(string path, string body)
    {
        await using var server = await RealtimeServer.StartAsync();
        var id = (await server.PostAsync<JsonElement>("/api/users/alice/notifications", new { data = 1 })).GetProperty("id").GetString();
        var withTheRealId = body.Replace("n1", id, StringComparison.Ordinal);

        using var response = await server.Http.PostAsync(path, new StringContent(withTheRealId, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
        Assert.Equal(1, (await GetJsonAsync(server, "/api/users/alice/notifications")).GetProperty("unread").GetInt32());
    }

    [Fact]
    public async Task A_channel_name_over_200_characters_is_400()
    {
        await using var server = await RealtimeServer.StartAsync();
        var name = "chat:" + new string('x', 196);

        using var publish = await server.Http.PostAsJsonAsync($"/api/channels/{name}/messages", new { data = 1 });
        using var history = await server.Http.GetAsync($"/api/channels/{name}/history");
        using var fits = await server.Http.PostAsJsonAsync($"/api/channels/{name[..^1]}/messages", new { data = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, publish.StatusCode);
        await AssertProblemAsync(publish, 400);
        Assert.Equal(HttpStatusCode.BadRequest, history.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fits.StatusCode);
    }

    [Theory]
    [InlineData("limit=-1")]
    [InlineData("since=-1")]
    [InlineData("before=-5")]
    [InlineData("limit=ten")]
    public async Task A_bad_history_query_is_400_problem_details(string query)
    {
        await using var server = await RealtimeServer.StartAsync();

        using var response = await server.Http.GetAsync($"/api/channels/chat:a/history?{query}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await AssertProblemAsync(response, 400);
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_refused_with_problem_details()
    {
        await using var server = await RealtimeServer.StartAsync();

        using var response = await server.Http.PostAsync("/api/channels/chat:a/messages", new StringContent("data=1", Encoding.UTF8, "text/plain"));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        await AssertProblemAsync(response, 415);
    }

    [Fact]
    public async Task Publish_returns_offset_and_epoch_and_the_message_is_in_history_and_reaches_subscribers()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        var first = await server.PostAsync<JsonElement>("/api/channels/chat:lobby/messages", new { data = new { text = "hello", n = 1 } });
        var second = await server.PostAsync<JsonElement>("/api/channels/chat:lobby/messages", new { data = "bye" });

        Assert.Equal(1, first.GetProperty("offset").GetInt64());
        Assert.Equal(2, second.GetProperty("offset").GetInt64());
        var epoch = first.GetProperty("epoch").GetString();
        Assert.False(string.IsNullOrEmpty(epoch));
        Assert.Equal(epoch, second.GetProperty("epoch").GetString());

        var history = await GetJsonAsync(server, "/api/channels/chat:lobby/history");
        Assert.Equal(epoch, history.GetProperty("epoch").GetString());
        Assert.Equal(2, history.GetProperty("offset").GetInt64());
        var messages = history.GetProperty("messages").EnumerateArray().ToArray();
        Assert.Equal([1L, 2], messages.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal("hello", messages[0].GetProperty("data").GetProperty("text").GetString());
        Assert.Equal("chat:lobby", messages[0].GetProperty("channel").GetString());
        Assert.False(messages[0].TryGetProperty("from", out var from) && from.ValueKind != JsonValueKind.Null, "a REST publish has no sender");

        var pushed = await alice.MessagesAsync(2);
        Assert.Equal("hello", pushed[0].GetProperty("data").GetProperty("text").GetString());
        Assert.Equal("bye", pushed[1].GetProperty("data").GetString());
    }

    [Fact]
    public async Task History_reads_with_limit_since_and_before()
    {
        await using var server = await RealtimeServer.StartAsync();
        for (var i = 1; i <= 6; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/log/messages", new { data = i });
        }

        var epoch = (await GetJsonAsync(server, "/api/channels/log/history")).GetProperty("epoch").GetString();
        var latest = await GetJsonAsync(server, "/api/channels/log/history?limit=2");
        var after = await GetJsonAsync(server, $"/api/channels/log/history?since=2&limit=2&epoch={epoch}");
        var before = await GetJsonAsync(server, "/api/channels/log/history?before=4&limit=2");

        Assert.Equal([5L, 6], Offsets(latest));
        Assert.Equal([3L, 4], Offsets(after));
        Assert.Equal([2L, 3], Offsets(before));
    }

    [Fact]
    public async Task A_retried_publish_with_the_same_idempotency_key_is_stored_once()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "orders" });

        var first = await server.PostAsync<JsonElement>("/api/channels/orders/messages", new { data = "order 1 paid", idempotencyKey = "pay-1" });
        var retry = await server.PostAsync<JsonElement>("/api/channels/orders/messages", new { data = "order 1 paid", idempotencyKey = "pay-1" });
        var other = await server.PostAsync<JsonElement>("/api/channels/orders/messages", new { data = "order 2 paid", idempotencyKey = "pay-2" });

        Assert.Equal(first.GetProperty("offset").GetInt64(), retry.GetProperty("offset").GetInt64());
        Assert.Equal(first.GetProperty("epoch").GetString(), retry.GetProperty("epoch").GetString());
        Assert.Equal(first.GetProperty("offset").GetInt64() + 1, other.GetProperty("offset").GetInt64());
        var history = await GetJsonAsync(server, "/api/channels/orders/history");
        Assert.Equal(["order 1 paid", "order 2 paid"], history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("data").GetString()));
        Assert.Equal(["order 1 paid", "order 2 paid"], (await alice.MessagesAsync(2)).Select(m => m.GetProperty("data").GetString()));
        Assert.True(await alice.NoPushAsync("message", TimeSpan.FromMilliseconds(300)), "the retry is not delivered again");
    }

    [Fact]
    public async Task Broadcast_to_three_channels_returns_three_results_and_each_channel_gets_the_message()
    {
        await using var server = await RealtimeServer.StartAsync();
        await using var alice = await server.ConnectAsync("alice");
        await alice.CallAsync(new { type = "subscribe", channel = "room:2" });
        await server.PostAsync<JsonElement>("/api/channels/room:2/messages", new { data = "earlier" });
        await alice.NextPushAsync("message");

        var response = await server.PostAsync<JsonElement>("/api/broadcast", new { channels = new[] { "room:1", "room:2", "room:3" }, data = new { text = "maintenance at 5" } });

        var results = response.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(["room:1", "room:2", "room:3"], results.Select(r => r.GetProperty("channel").GetString()).Order());
        Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.GetProperty("epoch").GetString())));
        Assert.All(results, r => Assert.False(r.TryGetProperty("error", out var e) && e.ValueKind != JsonValueKind.Null, $"no error expected: {r}"));
        Assert.Equal(2, results.Single(r => r.GetProperty("channel").GetString() == "room:2").GetProperty("offset").GetInt64());
        Assert.Equal(1, results.Single(r => r.GetProperty("channel").GetString() == "room:1").GetProperty("offset").GetInt64());

        var pushed = await alice.NextPushAsync("message");
        Assert.Equal("maintenance at 5", pushed.GetProperty("data").GetProperty("text").GetString());
        foreach (var channel in new[] { "room:1", "room:3" })
        {
            var history = await GetJsonAsync(server, $"/api/channels/{channel}/history");
            Assert.Equal("maintenance at 5", history.GetProperty("messages")[0].GetProperty("data").GetProperty("text").GetString());
        }
    }

    [Fact]
    public async Task Presence_lists_a_socket_subscriber_and_forgets_it_when_it_leaves()
    {
        await using var server = await RealtimeServer.StartAsync();
        var alice = await server.ConnectAsync("alice");
        var client = (await alice.CallAsync(new { type = "connect" })).GetProperty("client").GetString();
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });

        var presence = await GetJsonAsync(server, "/api/channels/chat:lobby/presence");

        Assert.Equal(1, presence.GetProperty("users").GetInt32());
        var entry = Assert.Single(presence.GetProperty("clients").EnumerateArray());
        Assert.Equal(client, entry.GetProperty("client").GetString());
        Assert.Equal("alice", entry.GetProperty("user").GetString());

        await alice.DisposeAsync();
        await Eventually.TrueAsync(async () => (await GetJsonAsync(server, "/api/channels/chat:lobby/presence")).GetProperty("users").GetInt32() == 0,
            "the closed socket leaves presence");
    }

    [Fact]
    public async Task History_with_a_stale_epoch_is_409_and_with_the_current_one_is_200()
    {
        await using var server = await RealtimeServer.StartAsync();
        var published = await server.PostAsync<JsonElement>("/api/channels/chat:lobby/messages", new { data = 1 });
        var epoch = published.GetProperty("epoch").GetString();

        using var stale = await server.Http.GetAsync("/api/channels/chat:lobby/history?since=0&epoch=not-" + epoch);
        using var current = await server.Http.GetAsync($"/api/channels/chat:lobby/history?since=0&epoch={epoch}");

        Assert.Equal(HttpStatusCode.Conflict, stale.StatusCode);
        await AssertProblemAsync(stale, 409);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
    }

    [Fact]
    public async Task Data_over_MaxMessageBytes_is_413_and_nothing_is_stored()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Limits:MaxMessageBytes"] = "64" });
        var big = new { data = new string('x', 200) };

        using var publish = await server.Http.PostAsJsonAsync("/api/channels/chat:a/messages", big);
        using var notify = await server.Http.PostAsJsonAsync("/api/users/alice/notifications", big);
        using var direct = await server.Http.PostAsJsonAsync("/api/users/alice/messages", big);

        foreach (var response in new[] { publish, notify, direct })
        {
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
            var problem = await AssertProblemAsync(response, 413);
            Assert.Equal("too_large", problem.GetProperty("code").GetString());
        }

        Assert.Equal(0, (await GetJsonAsync(server, "/api/channels/chat:a/history")).GetProperty("offset").GetInt64());
        Assert.Empty((await GetJsonAsync(server, "/api/users/alice/notifications")).GetProperty("items").EnumerateArray());
        using var small = await server.Http.PostAsJsonAsync("/api/channels/chat:a/messages", new { data = "fits" });
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
    }

    [Fact]
    public async Task Info_lists_this_node()
    {
        await using var server = await RealtimeServer.StartAsync();

        var info = await GetJsonAsync(server, "/api/info");

        Assert.Equal("node-a", info.GetProperty("node").GetString());
        Assert.Equal("memory", info.GetProperty("engine").GetString());
        Assert.Contains("node-a", info.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("node").GetString()));
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_answer_200_without_an_api_key(string path)
    {
        await using var server = await RealtimeServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Metrics_are_prometheus_text_whose_counters_move_with_traffic()
    {
        // One command a second after a burst of ten: a quick run of pings is sure to go over it.
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "1",
            ["Realtime:Limits:CommandBurst"] = "10",
        });
        using var http = new HttpClient { BaseAddress = server.BaseUri };
        using var first = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal("text/plain", first.Content.Headers.ContentType?.MediaType);
        var beforeText = await first.Content.ReadAsStringAsync();
        Assert.Equal("gauge", PrometheusText.TypeOf(beforeText, "realtime_connections"));
        Assert.Equal("gauge", PrometheusText.TypeOf(beforeText, "realtime_gc_live_set_bytes"));
        var before = PrometheusText.Parse(beforeText);
        Assert.Equal(0, before["realtime_connections"]);

        await using var alice = await server.ConnectAsync("alice");
        await using var bob = await server.ConnectAsync("bob");
        await alice.CallAsync(new { type = "ping" });
        await alice.CallAsync(new { type = "ping" });
        await alice.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
        await bob.CallAsync(new { type = "subscribe", channel = "chat:lobby" });
        await alice.CallAsync(new { type = "publish", channel = "chat:lobby", data = 1 });
        await alice.NextPushAsync("message");
        await bob.NextPushAsync("message");

        // Twelve pings at once from a third socket: ten fit the burst, the rest are refused.
        await using var mallory = await server.ConnectAsync("mallory");
        var pings = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => mallory.RequestAsync(new { type = "ping" })));
        var refused = pings.Count(p => p.TryGetProperty("error", out var e) && e.GetProperty("code").GetString() == "rate_limited");
        Assert.InRange(refused, 1, 2);

        var afterText = await http.GetStringAsync("/metrics");
        var after = PrometheusText.Parse(afterText);
        Assert.Equal(3, after["realtime_connections"]);
        Assert.Equal(2, after["realtime_subscriptions"]);
        Assert.Equal(before["realtime_deliveries_total"] + 2, after["realtime_deliveries_total"]);
        Assert.Equal(before["realtime_rate_limited_commands_total"] + refused, after["realtime_rate_limited_commands_total"]);
        Assert.True(after["realtime_frames_in_total"] >= before["realtime_frames_in_total"] + 4);
        Assert.True(after["realtime_frames_out_total"] >= before["realtime_frames_out_total"] + 5);
        Assert.Equal(before["realtime_publishes_total"] + 1, after["realtime_publishes_total"]);

        // A histogram appears with its first measurement.
        Assert.Equal("histogram", PrometheusText.TypeOf(afterText, "realtime_publish_latency_seconds"));
        Assert.Equal(1, after["realtime_publish_latency_seconds_count"] - before.GetValueOrDefault("realtime_publish_latency_seconds_count"));
        Assert.Equal(1, after["realtime_publish_latency_seconds_bucket{le=\"+Inf\"}"] - before.GetValueOrDefault("realtime_publish_latency_seconds_bucket{le=\"+Inf\"}"));
        Assert.True(after.ContainsKey("realtime_publish_latency_seconds_bucket{le=\"0.0005\"}"), "the configured bucket boundaries are exported");

        // The runtime's and ASP.NET Core's instruments are served beside the node's own.
        Assert.True(after["dotnet_gc_heap_total_allocated_bytes_total"] > before["dotnet_gc_heap_total_allocated_bytes_total"]);
        Assert.Equal("counter", PrometheusText.TypeOf(afterText, "dotnet_gc_collections_total"));
        Assert.Equal("counter", PrometheusText.TypeOf(afterText, "dotnet_gc_pause_time_seconds_total"));
        Assert.Equal("gauge", PrometheusText.TypeOf(afterText, "dotnet_process_memory_working_set_bytes"));
        Assert.Equal("histogram", PrometheusText.TypeOf(afterText, "http_server_request_duration_seconds"));
    }

    [Fact]
    public async Task Two_nodes_in_one_process_each_serve_only_their_own_counters()
    {
        // Each node's meter comes from its own host's IMeterFactory; a meter shared by the process would let one
        // node's /metrics report the other's sockets.
        await using var first = await RealtimeServer.StartAsync();
        await using var second = await RealtimeServer.StartAsync();
        await using var alice = await first.ConnectAsync("alice");
        await using var bob = await first.ConnectAsync("bob");
        await alice.CallAsync(new { type = "ping" });
        await bob.CallAsync(new { type = "ping" });

        Assert.Equal(2, (await first.MetricsAsync())["realtime_connections"]);
        Assert.Equal(0, (await second.MetricsAsync())["realtime_connections"]);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_rest_api()
    {
        await using var server = await RealtimeServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.GetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToArray();
        Assert.Contains("/api/channels/{channel}/messages", paths);
        Assert.Contains("/api/broadcast", paths);
        Assert.Contains("/api/users/{user}/notifications", paths);
        Assert.Contains("/api/users/{user}/notifications/read", paths);
        Assert.DoesNotContain("/ws", paths);
    }

    [Theory]
    [InlineData("Development", HttpStatusCode.OK)]
    [InlineData("Production", HttpStatusCode.NotFound)]
    public async Task The_interactive_api_reference_is_served_in_development_only(string environment, HttpStatusCode expected)
    {
        await using var server = await RealtimeServer.StartAsync(environment: environment);
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var page = await http.GetAsync("/scalar/v1");

        Assert.Equal(expected, page.StatusCode);
        if (expected == HttpStatusCode.OK)
        {
            // The page reads the document this node serves, and its script comes from the node too, not a CDN
            // (production networks often block those).
            Assert.Contains("\"url\":\"openapi/v1.json\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            using var script = await http.GetAsync("/scalar/scalar.js");
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        }
    }

    [Fact]
    public async Task A_dev_token_opens_a_socket_as_its_user_with_its_channels()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Namespaces:team:Restricted"] = "true" });
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.PostAsJsonAsync("/dev/token", new { user = "alice", channels = new[] { "team:*" } });
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("alice", body.GetProperty("user").GetString());
        Assert.True(body.GetProperty("expiresAt").GetDateTimeOffset() > DateTimeOffset.UtcNow);

        await using var client = await TestClient.ConnectAsync(server, body.GetProperty("token").GetString());
        Assert.Equal("alice", (await client.CallAsync(new { type = "connect" })).GetProperty("user").GetString());
        await client.CallAsync(new { type = "subscribe", channel = "team:7" });

        using var noUser = await http.PostAsJsonAsync("/dev/token", new { user = "" });
        Assert.Equal(HttpStatusCode.BadRequest, noUser.StatusCode);
        await AssertProblemAsync(noUser, 400);
    }

    [Fact]
    public async Task Dev_tokens_are_404_when_turned_off()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?> { ["Realtime:Auth:DevTokens"] = "false" });
        using var http = new HttpClient { BaseAddress = server.BaseUri };

        using var response = await http.PostAsJsonAsync("/dev/token", new { user = "alice" });

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static long[] Offsets(JsonElement page) =>
        page.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("offset").GetInt64()).ToArray();

    private static async Task<JsonElement> GetJsonAsync(RealtimeServer server, string path)
    {
        using var response = await server.Http.GetAsync(path);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    /// <summary>Asserts an RFC 7807 body with the given status and returns it.</summary>
    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, int status)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.True(problem.TryGetProperty("title", out _), $"a problem has a title: {problem}");
        return problem;
    }
}
