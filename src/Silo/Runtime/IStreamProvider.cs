using Realtime.Contracts.Streams;

namespace Realtime.Silo.Runtime;

/// <summary>
/// Carries stream events between nodes. A node registers local interest with <see cref="Subscribe"/>;
/// the engine calls <c>onEvent</c> for every event on that stream from any node, in the order it was
/// published. Callbacks must return quickly: grains only queue a turn.
/// </summary>
public interface IStreamProvider
{
    IDisposable Subscribe(StreamKey key, Action<StreamEvent> onEvent);

    Task PublishAsync(StreamKey key, StreamEvent streamEvent, CancellationToken cancellationToken = default);
}
