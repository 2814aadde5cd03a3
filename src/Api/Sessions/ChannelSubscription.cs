using Realtime.Contracts.Wire;

namespace Realtime.Api.Sessions;

/// <summary>
/// A socket's subscription to one channel. Until the subscribe reply is queued, pushes are held
/// here, so the client always sees the reply (with any recovered messages) before live messages;
/// afterwards, messages at or below the reply's offset are dropped, so none is shown twice, and so are
/// joins and leaves that happened before the grain added this member.
/// </summary>
internal sealed class ChannelSubscription(Session session, string channel) : Feeds.IChannelSubscriber
{
    private List<(bool Presence, long Position, PushFrame Frame)>? _held;
    private volatile bool _confirmed;
    private volatile bool _closed;
    private long _floor;
    private long _presenceFloor;

    public string Channel { get; } = channel;

    public string Client => session.ClientId;

    public string User => session.Identity!.User;

    /// <summary>True once the subscribe reply is queued: the channel grain knows this member.</summary>
    public bool IsConfirmed => _confirmed;

    public void Deliver(long offset, PushFrame frame)
    {
        if (!_confirmed && Hold(presence: false, offset, frame))
        {
            return;
        }

        if (offset > Volatile.Read(ref _floor) && !_closed)
        {
            session.Enqueue(frame);
        }
    }

    public void Push(long sequence, PushFrame frame)
    {
        if (!_confirmed && Hold(presence: true, sequence, frame))
        {
            return;
        }

        if (sequence > Volatile.Read(ref _presenceFloor) && !_closed)
        {
            session.Enqueue(frame);
        }
    }

    /// <summary>Queues the subscribe reply, then whatever arrived meanwhile past <paramref name="floor"/> (messages)
    /// and <paramref name="presenceFloor"/> (joins and leaves).</summary>
    public void Confirm(long floor, long presenceFloor, byte[] reply)
    {
        lock (this)
        {
            Volatile.Write(ref _floor, floor);
            Volatile.Write(ref _presenceFloor, presenceFloor);
            session.Enqueue(reply);
            foreach (var (presence, position, frame) in _held ?? [])
            {
                if (position > (presence ? presenceFloor : floor))
                {
                    session.Enqueue(frame);
                }
            }

            _held = null;
            _confirmed = true;
        }
    }

    public void Close() => _closed = true;

    public bool IsClosed => _closed;

    public void Evict(string reason)
    {
        if (!_closed)
        {
            _closed = true;
            session.Enqueue(Realtime.Contracts.Wire.ServerFrames.Unsubscribed(Channel, reason));
        }
    }

    private bool Hold(bool presence, long position, PushFrame frame)
    {
        lock (this)
        {
            if (_confirmed)
            {
                return false;
            }

            (_held ??= []).Add((presence, position, frame));
            return true;
        }
    }
}
