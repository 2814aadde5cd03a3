using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;
using Realtime.Grains.Stores;

namespace Realtime.Grains;

/// <summary>Turns "the engine cannot be reached" into the protocol's <c>unavailable</c> error, so the
/// caller is told plainly that nothing was acknowledged.</summary>
internal static class EngineCall
{
    public static Task<T> Run<T>(Func<Task<T>> call) => Run(static c => c(), call);

    public static Task Run(Func<Task> call) => Run(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });

    /// <summary>A call the engine completed at once (the memory engine always does) returns the engine's own
    /// task: on the publish path, with a static lambda and its state, nothing is allocated here.</summary>
    public static Task<T> Run<TState, T>(Func<TState, Task<T>> call, TState state)
    {
        Task<T> task;
        try
        {
            task = call(state);
        }
        catch (Exception e)
        {
            // Thrown before the engine returned a task: reported through the task, as a failure after it would be.
            return Task.FromException<T>(e is EngineUnavailableException unavailable ? Unavailable(unavailable) : e);
        }

        return task.IsCompletedSuccessfully ? task : Translate(task);
    }

    private static async Task<T> Translate<T>(Task<T> task)
    {
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (EngineUnavailableException e)
        {
            throw Unavailable(e);
        }
    }

    private static RealtimeException Unavailable(EngineUnavailableException _) =>
        new(ErrorCodes.Unavailable, "the message store is unavailable, try again");
}
