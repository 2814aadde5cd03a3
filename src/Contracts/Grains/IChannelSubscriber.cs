namespace Realtime.Contracts.Grains;

/// <summary>
/// A socket's subscription to one channel, seen from the channel grain on the same node (the
/// counterpart of an Orleans grain observer). Calls must not block: they only queue bytes.
/// </summary>
public interface IChannelSubscriber
{
    string Client { get; }

    ClientIdentity Identity { get; }

    /// <summary>A message push. The same <paramref name="frame"/> array goes to every local subscriber.</summary>
    void Deliver(long offset, byte[] frame);

    /// <summary>Any other push for this channel (join, leave).</summary>
    void Push(byte[] frame);

    /// <summary>The server ended this subscription: the client is told why (an <c>unsubscribed</c> push)
    /// and may subscribe again, with <c>since</c>, to learn exactly what it missed.</summary>
    void Evict(string reason);
}
