using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Sessions;

/// <summary>
/// A client told to go that keeps sending is no longer read (past 100 frames the server leaves the rest to TCP
/// back-pressure) and would be dropped after CloseTimeout. A client that crashes meanwhile, resetting the connection,
/// is let go at once, on both upgrade paths: the socket, its queue and its memberships are freed now, not minutes later.
/// </summary>
public sealed class ResetTests
{
    // Far longer than any wait below: a test that passes did not wait it out.
    private const string CloseTimeout = "00:05:00";

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_client_reset_while_a_send_to_it_is_stuck_is_let_go_at_once(bool directUpgrade)
    {
        var logs = new LogCapture();
        await using var server = await StartAsync(directUpgrade, logs);

        // A client that reads its subscribe reply and then nothing, closed as a slow consumer with a send to it stuck.
        await using var stuck = await SlowConsumerTests.StuckSubscriberAsync(server);
        await SendPingsAsync(stuck, 150);
        await NoLongerReadAsync(logs); // after 100

        stuck.Reset();
        await LetGoAsync(server, logs, closeCode: 4008);
        if (directUpgrade)
        {
            // On the connection's own pipes the stuck send fails, and says so (ASP.NET Core's upgrade stream drops
            // writes to a connection that is gone without an error).
            Assert.Contains(Lines(logs), l => l.StartsWith("213 ", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_flooder_reset_after_its_close_frame_is_let_go_at_once(bool directUpgrade)
    {
        var logs = new LogCapture();
        await using var server = await StartAsync(directUpgrade, logs);

        // 500 commands at once: the burst (200) is answered, 50 more get rate_limited, the next closes it with 4029,
        // and 100 after that are read and dropped; the rest wait in the connection unread.
        await using var flooder = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("flooder")}");
        await SendPingsAsync(flooder, 500);
        var ending = await ReadUntilCloseFrameAsync(flooder);
        Assert.Equal(4029, ending.CloseCode);

        // Everything the server had to send has gone out; it waits for the close handshake that never comes.
        await NoLongerReadAsync(logs);
        flooder.Reset();
        await LetGoAsync(server, logs, closeCode: 4029);
    }

    private static Task<RealtimeServer> StartAsync(bool directUpgrade, LogCapture logs) =>
        RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:DirectUpgrade"] = directUpgrade ? "true" : "false",
            ["Realtime:Namespaces:bulk:HistorySize"] = "0",
            ["Realtime:Limits:MaxQueueBytes"] = "262144",
            ["Realtime:Limits:CloseTimeout"] = CloseTimeout,
            ["Logging:LogLevel:Realtime.Api.Sessions"] = "Debug",
        }, services => services.AddSingleton<ILoggerProvider>(logs));

    private static async Task SendPingsAsync(RawWebSocket socket, int count)
    {
        for (var i = 0; i < count; i++)
        {
            await socket.SendTextAsync($$"""{"id":{{i + 100}},"type":"ping"}""");
        }
    }

    // The reset must find the session waiting, not still reading (a reader that meets the reset ends by itself).
    private static Task NoLongerReadAsync(LogCapture logs) =>
        Eventually.TrueAsync(() => Lines(logs).Any(l => l.StartsWith("214 ", StringComparison.Ordinal)),
            "the server stops reading the client (event 214)", TimeSpan.FromSeconds(30));

    private static async Task<RawFrame> ReadUntilCloseFrameAsync(RawWebSocket socket)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (await RawFrames.ReadAsync(socket.Stream, cts.Token) is { } frame)
        {
            if (frame.Opcode == RawFrame.Close)
            {
                return frame;
            }
        }

        throw new Xunit.Sdk.XunitException("the server ended the connection without a close frame");
    }

    // The session ends, the close it asked for is logged, and nothing says it waited out CloseTimeout.
    private static async Task LetGoAsync(RealtimeServer server, LogCapture logs, int closeCode)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while ((await server.MetricsAsync())["realtime_connections"] != 0)
        {
            Assert.True(DateTime.UtcNow < deadline,
                $"the reset connection is still open after 60 s (CloseTimeout is {CloseTimeout}); the sessions' log:\n{string.Join("\n", Lines(logs))}");
            await Task.Delay(20);
        }

        var lines = Lines(logs);
        Assert.DoesNotContain(lines, l => l.StartsWith("212 ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("201 ", StringComparison.Ordinal) && l.Contains($"closed: {closeCode}", StringComparison.Ordinal));
    }

    private static string[] Lines(LogCapture logs) =>
        logs.Entries.Where(e => e.Category.StartsWith("Realtime.Api.Sessions", StringComparison.Ordinal))
            .Select(e => $"{e.EventId.Id} {e.Message}{(e.Exception is { } x ? $" ({x.GetType().Name}: {x.Message})" : "")}").ToArray();
}
