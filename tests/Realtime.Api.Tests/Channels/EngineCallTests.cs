using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;
using Realtime.Grains;
using Realtime.Grains.Stores;

namespace Realtime.Api.Tests.Channels;

/// <summary>
/// The publish path's engine call: what the engine completed at once is passed through untouched (no second
/// task), and "the engine cannot be reached" becomes the protocol's <c>unavailable</c> however it is reported.
/// </summary>
public sealed class EngineCallTests
{
    [Fact]
    public void A_call_the_engine_completed_at_once_returns_the_engines_own_task()
    {
        var completed = Task.FromResult(42);

        var task = EngineCall.Run(static t => t, completed);

        Assert.Same(completed, task);
    }

    [Fact]
    public async Task An_engine_that_throws_unavailable_before_returning_a_task_is_reported_as_unavailable_through_the_task()
    {
        var task = EngineCall.Run<int, int>(static _ => throw new EngineUnavailableException("down", null), 0);

        var error = await Assert.ThrowsAsync<RealtimeException>(() => task);
        Assert.Equal(ErrorCodes.Unavailable, error.Code);
        Assert.Null(error.InnerException); // the driver's exception has no codec: it would fail a reply from another silo
    }

    [Fact]
    public async Task An_engine_task_that_faults_later_with_unavailable_is_reported_as_unavailable()
    {
        var pending = new TaskCompletionSource<int>();

        var task = EngineCall.Run(static t => t, pending.Task);
        Assert.False(task.IsCompleted);
        pending.SetException(new EngineUnavailableException("down", null));

        var error = await Assert.ThrowsAsync<RealtimeException>(() => task);
        Assert.Equal(ErrorCodes.Unavailable, error.Code);
    }

    [Fact]
    public async Task Other_failures_keep_their_own_exception_and_are_never_thrown_synchronously()
    {
        var failure = new InvalidOperationException("bug");

        var task = EngineCall.Run<InvalidOperationException, int>(static e => throw e, failure);

        Assert.Same(failure, await Assert.ThrowsAsync<InvalidOperationException>(() => task));
    }

    [Fact]
    public async Task A_call_that_completes_later_passes_its_result_through()
    {
        var pending = new TaskCompletionSource<string>();

        var task = EngineCall.Run(static t => t, pending.Task);
        pending.SetResult("appended");

        Assert.Equal("appended", await task);
    }
}
