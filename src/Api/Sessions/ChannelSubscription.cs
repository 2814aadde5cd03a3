using Realtime.Contracts.Grains;

namespace Realtime.Api.Sessions;

/// <summary>
/// A socket's subscription to one channel. Until the subscribe reply is queued, pushes are held
/// here, so the client always sees the reply (with any recovered messages) before live messages;
/// afterwards, messages at or below the reply's offset are dropped, so none is shown twice.
/// </summary>
internal sealed class ChannelSubscription(Session session, string channel) : IChannelSubscriber
{
    private const long NotAMessage = -1;
    private List<(long Offset, byte[] Frame)>? _held;
    private volatile bool _confirmed;
    private volatile bool _closed;
    private long _floor;

    public string Channel { get; } = channel;

    public string Client => session.ClientId;

    public ClientIdentity Identity => session.Identity!;

    public void Deliver(long offset, byte[] frame)
    {
        if (!_confirmed && Hold(offset, frame))
        {
            return;
        }

        if (offset > Volatile.Read(ref _floor) && !_closed)
        {
            session.Enqueue(frame);
        }
    }

    public void Push(byte[] frame)
    {
        if ((_confirmed || !Hold(NotAMessage, frame)) && !_closed)
        {
            session.Enqueue(frame);
        }
    }

    /// <summary>Queues the subscribe reply, then whatever arrived meanwhile past <paramref name="floor"/>.</summary>
    public void Confirm(long floor, byte[] reply)
    {
        lock (this)
        {
            Volatile.Write(ref _floor, floor);
            session.Enqueue(reply);
            foreach (var (offset, frame) in _held ?? [])
            {
                if (offset == NotAMessage || offset > floor)
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

    private bool Hold(long offset, byte[] frame)
    {
        lock (this)
        {
            if (_confirmed)
            {
                return false;
            }

            (_held ??= []).Add((offset, frame));
            return true;
        }
    }
}
