using Microsoft.Extensions.Logging;
using Realtime.Grains.Diagnostics;

namespace Realtime.Api.Tests.Infrastructure;

/// <summary>After a client misbehaves: a new, well-behaved client on the same node can still ping, subscribe, publish and receive.</summary>
public static class Witness
{
    public static async Task AssertNodeServesOthersAsync(RealtimeServer server)
    {
        await using var witness = await server.ConnectAsync("witness");
        await witness.CallAsync(new { type = "ping" });
        var channel = $"check:{Guid.NewGuid():N}";
        await witness.CallAsync(new { type = "subscribe", channel });
        var ack = await witness.CallAsync(new { type = "publish", channel, data = new { ok = true } });
        var message = await witness.NextPushAsync("message");
        Assert.Equal(ack.GetProperty("offset").GetInt64(), message.GetProperty("offset").GetInt64());
        Assert.True(message.GetProperty("data").GetProperty("ok").GetBoolean());
    }

    /// <summary>
    /// After a run of random input: the node serves others, holds no connection or subscription, logged no
    /// error, and its managed heap (the test process's, measured alone) grew by less than 16 MB.
    /// </summary>
    public static async Task AssertNodeUnharmedAsync(RealtimeServer server, LogCapture logs, long heapBefore, string run)
    {
        await AssertNodeServesOthersAsync(server);
        var metrics = server.Services.GetRequiredService<RealtimeMetrics>();
        await Eventually.TrueAsync(() => metrics.Connections == 0 && metrics.Subscriptions == 0, "every connection and subscription is released");
        Assert.DoesNotContain(logs.Entries, e => e.Level >= LogLevel.Error);
        var grown = ManagedHeap.LiveBytes() - heapBefore;
        Assert.True(grown < 16 * 1024 * 1024, $"the managed heap grew by {grown:N0} bytes over {run}");
    }

    /// <summary>Input bytes for a failure message: hex, the first 64 bytes.</summary>
    public static string Show(byte[] bytes) =>
        Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 64))) + (bytes.Length > 64 ? $"… ({bytes.Length} bytes)" : "");
}
