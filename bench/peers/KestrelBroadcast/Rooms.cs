namespace Realtime.Bench.KestrelBroadcast;

/// <summary>Channel → subscribed connections, as copy-on-write arrays so a broadcast takes no lock.</summary>
internal sealed class Rooms
{
    private readonly Dictionary<string, Connection[]> _rooms = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public void Join(string channel, Connection connection)
    {
        lock (_lock)
        {
            _rooms[channel] = _rooms.TryGetValue(channel, out var members) ? [.. members, connection] : [connection];
        }
    }

    public void Leave(string channel, Connection connection)
    {
        lock (_lock)
        {
            if (_rooms.TryGetValue(channel, out var members))
            {
                var left = Array.FindAll(members, m => m != connection);
                if (left.Length == 0)
                {
                    _rooms.Remove(channel);
                }
                else
                {
                    _rooms[channel] = left;
                }
            }
        }
    }

    public Connection[] Members(string channel)
    {
        lock (_lock)
        {
            return _rooms.TryGetValue(channel, out var members) ? members : [];
        }
    }
}
