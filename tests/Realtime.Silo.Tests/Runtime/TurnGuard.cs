namespace Realtime.Silo.Tests.Runtime;

/// <summary>Wraps a turn's body and reports to the probe if another turn of the same grain is already
/// inside one. Deliberately not thread-safe: the runtime promises it need not be.</summary>
public sealed class TurnGuard(GrainProbe probe)
{
    private bool _busy;

    public async Task RunAsync(Func<Task> body)
    {
        if (_busy)
        {
            probe.RecordOverlap();
        }

        _busy = true;
        try
        {
            await body();
        }
        finally
        {
            _busy = false;
        }
    }
}
