using Realtime.Contracts.Channels;
using Realtime.Silo.Tests.Runtime.Grains;

namespace Realtime.Silo.Tests.Runtime;

public sealed class GrainStreamTests
{
    [Fact]
    public async Task Stream_events_reach_the_grain_as_turns_in_offset_order()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IStreamGrain>("listener");
        await grain.ListenAsync("news");

        var appends = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 50; i++)
            {
                await silo.Engine.AppendAsync(new AppendRequest("news", "alice", "{}"u8.ToArray(), 10, TimeSpan.FromHours(1)), default);
            }
        }));
        var calls = Enumerable.Range(0, 50).Select(_ => Task.Run(() => grain.BusyAsync()));
        await Task.WhenAll(appends.Concat(calls));

        await Eventually.AssertAsync(async () => Assert.Equal(Enumerable.Range(1, 200).Select(i => (long)i), await grain.ReceivedAsync()));
        Assert.Equal(0, silo.Probe.Overlaps);
    }

    [Fact]
    public async Task A_grain_hears_only_the_streams_it_subscribed_to()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IStreamGrain>("picky");
        await grain.ListenAsync("wanted");

        await silo.Engine.AppendAsync(new AppendRequest("unwanted", null, "{}"u8.ToArray(), 10, TimeSpan.FromHours(1)), default);
        await silo.Engine.AppendAsync(new AppendRequest("wanted", null, "{}"u8.ToArray(), 10, TimeSpan.FromHours(1)), default);

        await Eventually.AssertAsync(async () => Assert.Equal([1L], await grain.ReceivedAsync()));
    }

    [Fact]
    public async Task DeactivateOnIdle_holds_when_the_grain_hears_its_own_event_in_the_same_turn()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<IStreamGrain>("channel-like");
        await grain.ListenAsync("room");

        await grain.LeaveAndDeactivateAsync();

        await Eventually.AssertAsync(() =>
        {
            Assert.Equal(1, silo.Probe.Deactivations("channel-like"));
            Assert.Equal(0, silo.Runtime.ActivationCount);
        });
    }
}
