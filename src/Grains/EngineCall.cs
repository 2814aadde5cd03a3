using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;
using Realtime.Silo.Engines;

namespace Realtime.Grains;

/// <summary>Turns "the engine cannot be reached" into the protocol's <c>unavailable</c> error, so the
/// caller is told plainly that nothing was acknowledged.</summary>
internal static class EngineCall
{
    public static async Task<T> Run<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (EngineUnavailableException e)
        {
            throw new RealtimeException(ErrorCodes.Unavailable, "the message store is unavailable, try again", e);
        }
    }

    public static Task Run(Func<Task> call) => Run(async () =>
    {
        await call().ConfigureAwait(false);
        return true;
    });
}
