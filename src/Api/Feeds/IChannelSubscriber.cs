using Realtime.Contracts.Wire;

namespace Realtime.Api.Feeds;

/// <summary>A socket's subscription to one channel, as its feed sees it. Calls must not block: they only queue bytes.</summary>
internal interface IChannelSubscriber
{
    string Client { get; }

    string User { get; }

    /// <summary>True once the channel grain has confirmed the member (the subscribe reply is queued).</summary>
    bool IsConfirmed { get; }

    bool IsClosed { get; }

    /// <summary>A message push. The same <paramref name="frame"/> goes to every local subscriber.</summary>
    void Deliver(long offset, PushFrame frame);

    /// <summary>A join or leave, the <paramref name="sequence"/>th presence event of the channel.</summary>
    void Push(long sequence, PushFrame frame);

    /// <summary>The server ended this subscription: the client is told why (an <c>unsubscribed</c> push) and may
    /// subscribe again, with <c>since</c>, to learn exactly what it missed.</summary>
    void Evict(string reason);
}
