using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Streams;
using Realtime.Silo.Engines;
using Realtime.Silo.Engines.Memory;

namespace Realtime.Api.Tests.Channels;

public sealed class GapTests
{
    [Fact]
    public async Task A_gap_history_cannot_fill_unsubscribes_the_client_who_then_learns_exactly_what_is_missing()
    {
        // The stream loses offsets 2 to 4; history keeps only the newest message, so the grain cannot refill them.
        await using var server = await RealtimeServer.StartAsync(
            new Dictionary<string, string?> { ["Realtime:Namespaces:lossy:HistorySize"] = "1" },
            services => services.Replace(ServiceDescriptor.Singleton<IRealtimeEngine>(sp =>
                new LossyEngine(ActivatorUtilities.CreateInstance<MemoryEngine>(sp), dropped: [2, 3, 4]))));
        await using var client = await server.ConnectAsync("alice");
        var sub = await client.CallAsync(new { type = "subscribe", channel = "lossy:feed" });
        for (var i = 1; i <= 5; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/lossy:feed/messages", new { data = i });
        }

        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());
        var unsubscribed = await client.NextPushAsync("unsubscribed");
        Assert.Equal("lossy:feed", unsubscribed.GetProperty("channel").GetString());
        Assert.True(await client.NoPushAsync("message", TimeSpan.FromMilliseconds(300)), "nothing after the gap is shown as if contiguous");

        var again = await client.CallAsync(new
        {
            type = "subscribe", channel = "lossy:feed", since = new { epoch = sub.GetProperty("epoch").GetString(), offset = 1 },
        });
        Assert.False(again.GetProperty("recovered").GetBoolean());
        Assert.Equal(5, again.GetProperty("offset").GetInt64());
    }

    [Fact]
    public async Task A_gap_whose_start_history_has_lost_is_not_shown_as_a_jump()
    {
        // History keeps 3 messages. The stream loses 2 to 4, so when 5 arrives history holds 3, 4, 5:
        // the end of the gap but not its start (2). Delivering 3 and 4 would hide the loss of 2.
        await using var server = await RealtimeServer.StartAsync(
            new Dictionary<string, string?> { ["Realtime:Namespaces:lossy:HistorySize"] = "3" },
            services => services.Replace(ServiceDescriptor.Singleton<IRealtimeEngine>(sp =>
                new LossyEngine(ActivatorUtilities.CreateInstance<MemoryEngine>(sp), dropped: [2, 3, 4]))));
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "lossy:partial" });
        for (var i = 1; i <= 5; i++)
        {
            await server.PostAsync<JsonElement>("/api/channels/lossy:partial/messages", new { data = i });
        }

        Assert.Equal(1, (await client.NextPushAsync("message")).GetProperty("offset").GetInt64());
        await client.NextPushAsync("unsubscribed");
        var offsets = client.Frames.Where(f => f.TryGetProperty("type", out var t) && t.GetString() == "message")
            .Select(f => f.GetProperty("offset").GetInt64());
        Assert.Equal([1L], offsets);
    }

    /// <summary>The memory engine, except that the stream drops some offsets (as a lost NOTIFY would).</summary>
    private sealed class LossyEngine(MemoryEngine inner, long[] dropped) : IRealtimeEngine
    {
        public string Name => inner.Name;
        public IDisposable Subscribe(StreamKey key, Action<StreamEvent> onEvent) =>
            inner.Subscribe(key, e => { if (e is not PublicationEvent p || !dropped.Contains(p.Publication.Offset)) onEvent(e); });
        public Task PublishAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default) => inner.PublishAsync(key, streamEvent, cancellationToken);
        public Task StartAsync(CancellationToken cancellationToken) => inner.StartAsync(cancellationToken);
        public Task StopAsync(CancellationToken cancellationToken) => inner.StopAsync(cancellationToken);
        public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => inner.IsReadyAsync(cancellationToken);
        public Task<Realtime.Contracts.Channels.AppendResult> AppendAsync(Realtime.Contracts.Channels.AppendRequest request, CancellationToken cancellationToken) => inner.AppendAsync(request, cancellationToken);
        public Task<Realtime.Contracts.Channels.HistoryPage> ReadHistoryAsync(string channel, Realtime.Contracts.Channels.HistoryQuery query, CancellationToken cancellationToken) => inner.ReadHistoryAsync(channel, query, cancellationToken);
        public Task<Realtime.Contracts.Users.InboxEntry> AppendInboxAsync(Realtime.Contracts.Users.InboxAppend request, CancellationToken cancellationToken) => inner.AppendInboxAsync(request, cancellationToken);
        public Task<Realtime.Contracts.Users.InboxPage> ListInboxAsync(string user, bool unreadOnly, int limit, CancellationToken cancellationToken) => inner.ListInboxAsync(user, unreadOnly, limit, cancellationToken);
        public Task<int> MarkReadAsync(string user, IReadOnlyCollection<string> ids, CancellationToken cancellationToken) => inner.MarkReadAsync(user, ids, cancellationToken);
        public Task<int> CountUnreadAsync(string user, CancellationToken cancellationToken) => inner.CountUnreadAsync(user, cancellationToken);
        public Task<int> DeliverDueNotificationsAsync(CancellationToken cancellationToken) => inner.DeliverDueNotificationsAsync(cancellationToken);
        public Task AddPresenceAsync(string channel, Realtime.Contracts.Presence.PresenceEntry entry, CancellationToken cancellationToken) => inner.AddPresenceAsync(channel, entry, cancellationToken);
        public Task<bool> RemovePresenceAsync(string channel, string client, CancellationToken cancellationToken) => inner.RemovePresenceAsync(channel, client, cancellationToken);
        public Task<IReadOnlyList<Realtime.Contracts.Presence.PresenceEntry>> ListPresenceAsync(string channel, CancellationToken cancellationToken) => inner.ListPresenceAsync(channel, cancellationToken);
        public Task HeartbeatAsync(Realtime.Contracts.Presence.NodeStatus status, CancellationToken cancellationToken) => inner.HeartbeatAsync(status, cancellationToken);
        public Task<IReadOnlyList<Realtime.Contracts.Presence.NodeStatus>> ListNodesAsync(CancellationToken cancellationToken) => inner.ListNodesAsync(cancellationToken);
        public Task<IReadOnlyList<(string Channel, Realtime.Contracts.Presence.PresenceEntry Entry)>> ExpireDeadNodesAsync(TimeSpan timeout, CancellationToken cancellationToken) => inner.ExpireDeadNodesAsync(timeout, cancellationToken);
        public Task<IReadOnlyList<(string Channel, Realtime.Contracts.Presence.PresenceEntry Entry)>> RemoveNodeAsync(string node, CancellationToken cancellationToken) => inner.RemoveNodeAsync(node, cancellationToken);
        public Task<bool> TryLeadAsync(CancellationToken cancellationToken) => inner.TryLeadAsync(cancellationToken);
        public Task TrimAsync(CancellationToken cancellationToken) => inner.TrimAsync(cancellationToken);
    }
}
