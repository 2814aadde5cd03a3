using Realtime.Silo.Tests.Runtime.Grains;

namespace Realtime.Silo.Tests.Runtime;

public sealed class GrainDeactivationTests
{
    [Fact]
    public async Task An_idle_grain_is_deactivated_and_a_later_call_reactivates_it_with_fresh_state()
    {
        await using var silo = await TestSilo.StartAsync(TestSilo.ShortIdleTimeout);
        var grain = silo.Grains.GetGrain<ITestGrain>("idle");
        Assert.Equal(1, await grain.IncrementAsync());
        Assert.Equal(2, await grain.IncrementAsync());

        await Eventually.AssertAsync(() =>
        {
            Assert.Equal(1, silo.Probe.Deactivations("idle"));
            Assert.Equal(0, silo.Runtime.ActivationCount);
        });

        Assert.Equal(1, await grain.IncrementAsync());
        Assert.Equal(2, silo.Probe.Activations("idle"));
    }

    [Fact]
    public async Task A_grain_in_a_long_turn_is_not_deactivated_by_the_idle_collector()
    {
        await using var silo = await TestSilo.StartAsync(TestSilo.ShortIdleTimeout);
        var busy = silo.Grains.GetGrain<ITestGrain>("busy");
        var gate = silo.Probe.Gate("busy");
        try
        {
            var hold = busy.HoldAsync();
            await silo.Probe.Entered("busy").Task;
            await silo.Grains.GetGrain<ITestGrain>("control").IncrementAsync();

            // The control grain, last called after the long turn began, shows the collector has had its chance.
            await Eventually.AssertAsync(() => Assert.Equal(1, silo.Probe.Deactivations("control")));
            Assert.Equal(0, silo.Probe.Deactivations("busy"));

            gate.SetResult();
            await hold;
            Assert.Equal(1, await busy.IncrementAsync());
            Assert.Equal(1, silo.Probe.Activations("busy"));
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Fact]
    public async Task DeactivateOnIdle_deactivates_the_grain_after_the_current_turn()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITestGrain>("leaving");
        await grain.IncrementAsync();

        await grain.DeactivateAsync();

        await Eventually.AssertAsync(() =>
        {
            Assert.Equal(1, silo.Probe.Deactivations("leaving"));
            Assert.Equal(0, silo.Runtime.ActivationCount);
        });
        Assert.Equal(1, await grain.IncrementAsync());
    }

    [Fact]
    public async Task A_grain_that_cannot_deactivate_on_idle_stays_active_past_the_idle_timeout()
    {
        await using var silo = await TestSilo.StartAsync(TestSilo.ShortIdleTimeout);
        var pinned = silo.Grains.GetGrain<IPinnedGrain>("pinned");
        var control = silo.Grains.GetGrain<ITestGrain>("control");
        await pinned.SetPinnedAsync(true);
        await control.IncrementAsync();

        // The control grain, idle just as long, shows the collector has had its chance.
        await Eventually.AssertAsync(() => Assert.Equal(1, silo.Probe.Deactivations("control")));
        Assert.Equal(0, silo.Probe.Deactivations("pinned"));
        Assert.Equal(1, silo.Runtime.CountActivations<IPinnedGrain>());

        await pinned.SetPinnedAsync(false);
        await Eventually.AssertAsync(() => Assert.Equal(1, silo.Probe.Deactivations("pinned")));
        Assert.Equal(1, silo.Probe.Activations("pinned"));
    }

    [Fact]
    public async Task A_thousand_grains_activated_then_left_idle_all_deactivate()
    {
        await using var silo = await TestSilo.StartAsync(TestSilo.ShortIdleTimeout);

        await Task.WhenAll(Enumerable.Range(0, 1000).Select(i => silo.Grains.GetGrain<ITestGrain>($"many-{i}").IncrementAsync()));

        Assert.Equal(1000, silo.Probe.TotalActivations);
        await Eventually.AssertAsync(() =>
        {
            Assert.Equal(0, silo.Runtime.ActivationCount);
            Assert.Equal(1000, silo.Probe.TotalDeactivations);
        });
    }

    [Fact]
    public async Task Calls_racing_a_deactivation_are_never_lost()
    {
        await using var silo = await TestSilo.StartAsync();
        var grain = silo.Grains.GetGrain<ITestGrain>("racy");

        // Every call asks for deactivation, so calls keep arriving as activations close.
        var callers = Enumerable.Range(0, 8).Select(caller => Task.Run(async () =>
        {
            var answers = new List<string>();
            for (var i = 0; i < 200; i++)
            {
                answers.Add(await grain.EchoAndDeactivateAsync(caller * 1000 + i));
            }

            return answers;
        }));
        var results = await Task.WhenAll(callers).WaitAsync(TimeSpan.FromSeconds(30));

        for (var caller = 0; caller < results.Length; caller++)
        {
            Assert.Equal(Enumerable.Range(0, 200).Select(i => $"racy/{caller * 1000 + i}"), results[caller]);
        }

        Assert.True(silo.Probe.Activations("racy") > 1, "the calls should have crossed several activations");
        await Eventually.AssertAsync(() =>
        {
            Assert.Equal(0, silo.Runtime.ActivationCount);
            Assert.Equal(silo.Probe.Activations("racy"), silo.Probe.Deactivations("racy"));
        });
    }

    [Fact]
    public async Task Stopping_the_host_deactivates_every_grain()
    {
        await using var silo = await TestSilo.StartAsync();
        await Task.WhenAll(Enumerable.Range(0, 20).Select(i => silo.Grains.GetGrain<ITestGrain>($"g{i}").IncrementAsync()));
        await silo.Grains.GetGrain<IPinnedGrain>("pinned").SetPinnedAsync(true);
        Assert.Equal(21, silo.Runtime.ActivationCount);

        await silo.StopAsync();

        Assert.Equal(0, silo.Runtime.ActivationCount);
        Assert.Equal(21, silo.Probe.TotalDeactivations);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => silo.Grains.GetGrain<ITestGrain>("g0").IncrementAsync());
    }
}
