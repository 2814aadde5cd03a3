using Realtime.Silo.Tests.Runtime.Grains;

namespace Realtime.Silo.Tests.Runtime;

public sealed class GrainTimerTests
{
    [Fact]
    public async Task Timer_ticks_run_as_turns_that_never_overlap_calls()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITimerGrain>("ticking");
        await grain.StartTimerAsync(TimeSpan.FromMilliseconds(2));

        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => grain.BusyAsync())));
        await Eventually.AssertAsync(() => Assert.True(silo.Probe.Ticks("ticking") >= 10));

        Assert.Equal(0, silo.Probe.Overlaps);
    }

    [Fact]
    public async Task Timer_stops_ticking_once_the_grain_deactivates()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITimerGrain>("stopping");
        await grain.StartTimerAsync(TimeSpan.FromMilliseconds(5));
        await Eventually.AssertAsync(() => Assert.True(silo.Probe.Ticks("stopping") >= 3));

        await grain.DeactivateAsync();
        await Eventually.AssertAsync(() => Assert.Equal(1, silo.Probe.Deactivations("stopping")));
        var ticks = silo.Probe.Ticks("stopping");
        await Task.Delay(100); // twenty periods: enough for a leaked timer to show

        Assert.Equal(ticks, silo.Probe.Ticks("stopping"));
        Assert.Equal(0, silo.Runtime.ActivationCount);
    }

    [Fact]
    public async Task Timer_ticks_do_not_keep_a_grain_alive()
    {
        await using var silo = await TestSilo.StartAsync(TestSilo.ShortIdleTimeout);
        var grain = silo.Grains.GetGrain<ITimerGrain>("restless");
        await grain.StartTimerAsync(TimeSpan.FromMilliseconds(20));

        await Eventually.AssertAsync(() => Assert.Equal(1, silo.Probe.Deactivations("restless")));
        Assert.True(silo.Probe.Ticks("restless") > 0);
    }
}
