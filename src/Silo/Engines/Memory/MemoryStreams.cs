using System.Collections.Concurrent;
using Realtime.Contracts.Streams;
using Realtime.Silo.Runtime;

namespace Realtime.Silo.Engines.Memory;

/// <summary>In-process streams: each stream holds a copy-on-write array of local observers, so
/// publishing takes no lock and allocates nothing.</summary>
internal sealed class MemoryStreams : IStreamProvider
{
    private readonly ConcurrentDictionary<StreamKey, Action<StreamEvent>[]> _observers = new();

    public IDisposable Subscribe(StreamKey key, Action<StreamEvent> onEvent)
    {
        _observers.AddOrUpdate(key, static (_, o) => [o], static (_, list, o) => [.. list, o], onEvent);
        return new Subscription(this, key, onEvent);
    }

    public Task PublishAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default)
    {
        Publish(key, streamEvent);
        return Task.CompletedTask;
    }

    public void Publish(StreamKey key, StreamEvent streamEvent)
    {
        if (_observers.TryGetValue(key, out var observers))
        {
            foreach (var observer in observers)
            {
                observer(streamEvent);
            }
        }
    }

    public bool HasObservers(StreamKey key) => _observers.ContainsKey(key);

    /// <summary>Raises <paramref name="streamEvent"/> on every stream that has an observer here.</summary>
    public void PublishToAll(StreamEvent streamEvent)
    {
        foreach (var (_, observers) in _observers)
        {
            foreach (var observer in observers)
            {
                observer(streamEvent);
            }
        }
    }

    private void Unsubscribe(StreamKey key, Action<StreamEvent> onEvent)
    {
        while (_observers.TryGetValue(key, out var list))
        {
            var index = Array.IndexOf(list, onEvent);
            if (index < 0)
            {
                return;
            }

            if (list.Length == 1
                ? _observers.TryRemove(new KeyValuePair<StreamKey, Action<StreamEvent>[]>(key, list))
                : _observers.TryUpdate(key, [.. list[..index], .. list[(index + 1)..]], list))
            {
                return;
            }
        }
    }

    private sealed class Subscription(MemoryStreams owner, StreamKey key, Action<StreamEvent> onEvent) : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                owner.Unsubscribe(key, onEvent);
            }
        }
    }
}
