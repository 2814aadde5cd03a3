using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Sessions;

public sealed class SlowConsumerTests
{
    [Fact]
    public async Task A_client_that_stops_reading_is_closed_with_4008_while_a_reading_client_loses_nothing()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Namespaces:bulk:HistorySize"] = "0",
        });
        await using var slow = await TestClient.ConnectAsync(server, RealtimeServer.Token("slow"), receiveBufferBytes: 16 * 1024);
        await using var fast = await server.ConnectAsync("fast");
        await slow.CallAsync(new { type = "subscribe", channel = "bulk:feed" });
        await fast.CallAsync(new { type = "subscribe", channel = "bulk:feed" });
        await slow.PauseReadingAsync();

        // 10 MB in 320 messages of ~32 KB, published over REST while the slow client reads nothing.
        const int count = 320;
        var payload = new string('x', 32 * 1024);
        var fastReceived = new List<long>();
        var fastCount = 0;
        var reading = Task.Run(async () =>
        {
            while (fastReceived.Count < count)
            {
                fastReceived.Add((await fast.NextPushAsync("message", TimeSpan.FromSeconds(30))).GetProperty("offset").GetInt64());
                Volatile.Write(ref fastCount, fastReceived.Count);
            }
        });
        for (var i = 0; i < count; i++)
        {
            // Kept at most 16 messages (512 KiB) ahead of the reading client, under its 1 MiB queue whatever the
            // machine's pace: only the client that reads nothing may be a slow consumer here.
            while (i - Volatile.Read(ref fastCount) >= 16 && !reading.IsCompleted)
            {
                await Task.Delay(5);
            }

            await server.PostAsync<JsonElement>("/api/channels/bulk:feed/messages", new { data = new { i, payload } });
        }

        await reading; // every message reached the reading client while the slow one read nothing
        Assert.Equal(Enumerable.Range(1, count).Select(i => (long)i), fastReceived);

        slow.ResumeReading();
        Assert.Equal(4008, (int?)await slow.WaitClosedAsync(TimeSpan.FromSeconds(15)));
        var disconnect = await slow.NextPushAsync("disconnect");
        Assert.Equal(4008, disconnect.GetProperty("code").GetInt32());
        Assert.True(disconnect.GetProperty("reconnect").GetBoolean());
        Assert.True(slow.Frames.Count(f => f.TryGetProperty("type", out var t) && t.GetString() == "message") < count,
            "the slow client's queue was dropped, not delivered in full");

        Assert.Equal(1, (await server.MetricsAsync())["realtime_slow_consumer_closes_total"]);
    }

    [Fact]
    public async Task A_client_that_never_reads_again_is_cut_off_after_CloseTimeout_though_a_send_to_it_is_stuck()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Namespaces:bulk:HistorySize"] = "0",
            ["Realtime:Limits:MaxQueueBytes"] = "262144",
            ["Realtime:Limits:CloseTimeout"] = "00:00:01",
        });

        await using var stuck = await StuckSubscriberAsync(server);
        await Eventually.TrueAsync(async () => (await server.MetricsAsync())["realtime_connections"] == 0,
            "the stuck connection is aborted once CloseTimeout (1 s) has passed", TimeSpan.FromSeconds(30));
    }

    /// <summary>
    /// A hand-written client with a 4 KB receive buffer that subscribes to <c>bulk:feed</c>, reads its reply and then
    /// nothing, not even the close frame; messages of 32 KB are published over REST until the server closes it as a
    /// slow consumer. The server's send to it is then stuck on TCP back-pressure. The server must keep the channel's
    /// history off (<c>Realtime:Namespaces:bulk:HistorySize</c> 0) and its queue small
    /// (<c>Realtime:Limits:MaxQueueBytes</c> 262144).
    /// </summary>
    internal static async Task<RawWebSocket> StuckSubscriberAsync(RealtimeServer server)
    {
        var stuck = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("stuck")}");
        try
        {
            await stuck.SendTextAsync("""{"id":1,"type":"subscribe","channel":"bulk:feed"}""");
            using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
            {
                while (await RawFrames.ReadAsync(stuck.Stream, cts.Token) is { } frame && !frame.TextPayload.Contains("\"id\":1", StringComparison.Ordinal))
                {
                }
            }

            var payload = new string('x', 32 * 1024);
            for (var i = 0; i < 1000 && (await server.MetricsAsync())["realtime_slow_consumer_closes_total"] == 0; i++)
            {
                await server.PostAsync<JsonElement>("/api/channels/bulk:feed/messages", new { data = new { i, payload } });
            }

            Assert.Equal(1, (await server.MetricsAsync())["realtime_slow_consumer_closes_total"]);
        }
        catch
        {
            await stuck.DisposeAsync();
            throw;
        }

        return stuck;
    }
}
