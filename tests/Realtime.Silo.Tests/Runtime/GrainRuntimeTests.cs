using Realtime.Silo.Runtime;
using Realtime.Silo.Tests.Runtime.Grains;

namespace Realtime.Silo.Tests.Runtime;

/// <summary>Every case runs twice: through the reflection-based proxy and through a written reference.</summary>
public sealed class GrainRuntimeTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(5);

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_grain_is_activated_by_its_first_call_not_by_getting_a_reference(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("alpha");

        Assert.Equal(0, silo.Runtime.ActivationCount);
        Assert.Equal("alpha", await grain.GetKeyAsync());
        Assert.Equal(1, silo.Runtime.ActivationCount);
        Assert.Equal(1, silo.Probe.Activations("alpha"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Concurrent_first_calls_activate_the_grain_once_and_share_its_state(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("shared");

        var results = await Task.WhenAll(Enumerable.Range(0, 50).Select(_ => Task.Run(() => grain.IncrementAsync())));

        Assert.Equal(Enumerable.Range(1, 50), results.Order());
        Assert.Equal(1, silo.Probe.Activations("shared"));
        Assert.Equal(1, silo.Runtime.ActivationCount);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Each_key_gets_its_own_activation_and_references_to_one_key_reach_the_same_one(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);

        await silo.Grains.GetGrain<ITestGrain>("a").IncrementAsync();
        await silo.Grains.GetGrain<ITestGrain>("b").IncrementAsync();
        var second = await silo.Grains.GetGrain<ITestGrain>("a").IncrementAsync();

        Assert.Equal(2, second);
        Assert.Equal(2, silo.Runtime.ActivationCount);
        Assert.Equal(2, silo.Runtime.CountActivations<ITestGrain>());
        Assert.Equal("b", await silo.Grains.GetGrain<ITestGrain>("b").GetKeyAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Concurrent_calls_run_one_turn_at_a_time(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("serial");

        // Each call reads the counter, awaits, then writes: any overlap would lose an increment.
        var results = await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => Task.Run(() => grain.SlowIncrementAsync())));

        Assert.Equal(Enumerable.Range(1, 100), results.Order());
        Assert.Equal(0, silo.Probe.Overlaps);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_call_faults_only_that_call_and_the_activation_goes_on(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("fragile");
        Assert.Equal(1, await grain.IncrementAsync());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => grain.FailAsync("boom"));

        Assert.Equal("boom", error.Message);
        Assert.Equal(2, await grain.IncrementAsync());
        Assert.Equal(1, silo.Probe.Activations("fragile"));
        Assert.Equal(0, silo.Probe.Deactivations("fragile"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_normal_call_waits_while_a_turn_is_awaiting(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("held");
        var gate = silo.Probe.Gate("held");
        try
        {
            var hold = grain.HoldAsync();
            await silo.Probe.Entered("held").Task.WaitAsync(Timeout);

            var increment = grain.IncrementAsync();
            // The interleaving ping is answered while the hold is open; the increment, queued before it, is not.
            Assert.Equal("pong", await grain.PingAsync().WaitAsync(Timeout));
            Assert.False(increment.IsCompleted);

            gate.SetResult();
            await hold.WaitAsync(Timeout);
            Assert.Equal(1, await increment.WaitAsync(Timeout));
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task An_always_interleave_method_runs_while_a_normal_turn_is_awaiting(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("interleaved");
        var gate = silo.Probe.Gate("interleaved");
        try
        {
            var hold = grain.HoldAsync();
            await silo.Probe.Entered("interleaved").Task.WaitAsync(Timeout);

            var pings = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => grain.PingAsync())).WaitAsync(Timeout);

            Assert.All(pings, p => Assert.Equal("pong", p));
            Assert.False(hold.IsCompleted);
            gate.SetResult();
            await hold.WaitAsync(Timeout);
        }
        finally
        {
            gate.TrySetResult();
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_failing_interleaving_call_faults_its_task_not_the_caller_and_the_activation_goes_on(bool writtenReferences)
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: writtenReferences);
        var grain = silo.Grains.GetGrain<ITestGrain>("fragile-ping");
        Assert.Equal(1, await grain.IncrementAsync()); // active, so the written reference takes the direct path

        var call = grain.FailInterleavedAsync("boom"); // must not throw here, only through its task
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => call);

        Assert.Equal("boom", error.Message);
        Assert.Equal("pong", await grain.PingAsync());
        Assert.Equal(2, await grain.IncrementAsync());
        Assert.Equal(1, silo.Probe.Activations("fragile-ping"));
    }

    [Fact]
    public async Task Written_references_are_used_where_registered_and_proxies_elsewhere()
    {
        await using var silo = await TestSilo.StartAsync(writtenReferences: true);

        Assert.IsType<TestGrainReference>(silo.Grains.GetGrain<ITestGrain>("a"));
        Assert.IsAssignableFrom<GrainProxy>(silo.Grains.GetGrain<ITimerGrain>("a"));
    }
}
