namespace Realtime.Silo.Runtime;

/// <summary>A grain timer: each tick becomes a turn, and a tick is skipped while the last one waits.</summary>
internal sealed class GrainTimer : IDisposable
{
    private readonly GrainActivation _activation;
    private readonly Func<Task> _callback;
    private readonly Timer _timer;
    private int _queued;

    public GrainTimer(GrainActivation activation, Func<Task> callback, TimeSpan dueTime, TimeSpan period)
    {
        _activation = activation;
        _callback = callback;
        _timer = new Timer(static s => ((GrainTimer)s!).Tick(), this, dueTime, period);
    }

    public void Dispose() => _timer.Dispose();

    private void Tick()
    {
        if (Interlocked.Exchange(ref _queued, 1) == 1)
        {
            return;
        }

        if (!_activation.TryEnqueue(new TurnItem(RunAsync)))
        {
            _timer.Dispose();
        }
    }

    private async Task RunAsync()
    {
        Volatile.Write(ref _queued, 0);
        await _callback().ConfigureAwait(false);
    }
}
