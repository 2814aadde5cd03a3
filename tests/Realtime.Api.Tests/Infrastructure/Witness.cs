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
}
