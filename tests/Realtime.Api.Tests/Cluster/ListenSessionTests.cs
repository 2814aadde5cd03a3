using System.Net.Http.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class ListenSessionTests
{
    // Node A hears nothing of what B publishes while its LISTEN session is down. When it listens again, its channel
    // refills the gap from history at once: the subscriber must not wait for a later publish to reveal the gap.
    [Fact]
    public async Task A_subscriber_gets_every_message_once_and_in_order_across_a_lost_listen_session_of_its_node()
    {
        // A slow reconnect, so the messages published meanwhile surely fall in the gap.
        await using var cluster = await TestCluster.StartAsync(apiNodes: 2,
            new Dictionary<string, string> { ["Realtime__Postgres__ReconnectDelay"] = "00:00:03" });
        await using var reader = await cluster[0].ConnectAsync("reader");
        await using var writer = await cluster[1].ConnectAsync("writer");
        await reader.CallAsync(new { type = "subscribe", channel = "chat:deaf" });
        var next = 0;

        async Task PublishOnBAsync(int count)
        {
            for (var end = next + count; next < end; next++)
            {
                if (next % 2 == 0)
                {
                    await writer.CallAsync(new { type = "publish", channel = "chat:deaf", data = next });
                }
                else
                {
                    using var response = await cluster[1].Http.PostAsJsonAsync("/api/channels/chat:deaf/messages", new { data = next });
                    response.EnsureSuccessStatusCode();
                }
            }
        }

        await PublishOnBAsync(10);
        var received = await reader.MessagesAsync(10);

        await cluster.TerminateListenSessionAsync(cluster[0]);
        await Eventually.TrueAsync(async () => !await cluster[0].IsReadyAsync(), "node A notices it is not listening");
        await PublishOnBAsync(10);
        Assert.False(await cluster[0].IsReadyAsync(), "the second ten were published while node A was not listening");

        // Nothing is published after the gap: only the refill on reconnect can bring these.
        received.AddRange(await reader.MessagesAsync(10, TimeSpan.FromSeconds(15)));
        await PublishOnBAsync(10);
        received.AddRange(await reader.MessagesAsync(10));

        Assert.Equal(Enumerable.Range(1, 30).Select(i => (long)i), received.Select(m => m.GetProperty("offset").GetInt64()));
        Assert.Equal(Enumerable.Range(0, 30), received.Select(m => m.GetProperty("data").GetInt32()));
        Assert.True(await reader.NoPushAsync("message", TimeSpan.FromMilliseconds(500)), "no message twice");
    }
}
