using System.Text;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Grains;
using Realtime.Silo.Runtime;

namespace Realtime.Api.Tests.Channels;

/// <summary>SPEC §11: a message is serialised once per node, and the same bytes go to every local subscriber.</summary>
public sealed class FanOutTests
{
    [Fact]
    public async Task One_publication_reaches_every_local_subscriber_as_the_very_same_byte_array()
    {
        await using var server = await RealtimeServer.StartAsync();
        var channel = server.Services.GetRequiredService<IGrainFactory>().GetGrain<IChannelGrain>("chat:fanout");
        RecordingSubscriber[] subscribers = [new("c1", "alice"), new("c2", "bob"), new("c3", "bob")];
        foreach (var subscriber in subscribers)
        {
            await channel.SubscribeAsync(subscriber, since: null);
        }

        var published = await channel.PublishAsync(null, """{"text":"once"}"""u8.ToArray(), idempotencyKey: null);

        var frames = await Task.WhenAll(subscribers.Select(s => s.Delivered.WaitAsync(TestClient.Timeout)));
        Assert.All(frames, frame => Assert.Same(frames[0], frame));
        Assert.All(subscribers, s => Assert.Equal(published.Offset, s.Offset));
        Assert.Contains("""
            "data":{"text":"once"}
            """, Encoding.UTF8.GetString(frames[0]), StringComparison.Ordinal);
    }

    /// <summary>A subscriber that keeps the first message frame it is handed.</summary>
    private sealed class RecordingSubscriber(string client, string user) : IChannelSubscriber
    {
        private readonly TaskCompletionSource<byte[]> _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public string Client => client;

        public ClientIdentity Identity { get; } = new(user, []);

        public Task<byte[]> Delivered => _delivered.Task;

        public long Offset { get; private set; }

        public void Deliver(long offset, byte[] frame)
        {
            Offset = offset;
            _delivered.TrySetResult(frame);
        }

        public void Push(byte[] frame)
        {
            // join and leave of the other subscribers
        }

        public void Evict(string reason) => _delivered.TrySetException(new InvalidOperationException(reason));
    }
}
