using Realtime.Contracts.Grains;
using Realtime.Contracts.Presence;
using Realtime.Contracts.Streams;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Tests.Runtime.Grains;

public interface IStreamGrain : IGrainWithStringKey
{
    Task ListenAsync(string channel);

    /// <summary>The offsets of the publications received so far, in the order they arrived.</summary>
    Task<IReadOnlyList<long>> ReceivedAsync();

    Task BusyAsync();

    /// <summary>Publishes a leave on the stream it listens to and asks to be deactivated, as a channel
    /// grain does when its last subscriber goes.</summary>
    Task LeaveAndDeactivateAsync();
}

public sealed class StreamGrain(GrainProbe probe, IStreamProvider streams) : Grain, IStreamGrain
{
    private readonly TurnGuard _guard = new(probe);
    private readonly List<long> _received = [];
    private string _channel = "";

    public override Task OnActivateAsync(CancellationToken cancellationToken)
    {
        probe.RecordActivation(GrainKey);
        return Task.CompletedTask;
    }

    public override Task OnDeactivateAsync(CancellationToken cancellationToken)
    {
        probe.RecordDeactivation(GrainKey);
        return Task.CompletedTask;
    }

    public Task ListenAsync(string channel)
    {
        _channel = channel;
        SubscribeToStream(StreamKey.ForChannel(channel), e => _guard.RunAsync(async () =>
        {
            if (e is PublicationEvent publication)
            {
                _received.Add(publication.Publication.Offset);
            }

            await Task.Yield();
        }));
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<long>> ReceivedAsync() => Task.FromResult<IReadOnlyList<long>>([.. _received]);

    public Task BusyAsync() => _guard.RunAsync(() => Task.Delay(1));

    public async Task LeaveAndDeactivateAsync()
    {
        DeactivateOnIdle();
        var entry = new PresenceEntry("client-1", "alice", "node-1");
        await streams.PublishAsync(StreamKey.ForChannel(_channel), new PresenceEvent(_channel, entry, Joined: false));
    }
}
