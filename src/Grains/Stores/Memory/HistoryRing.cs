using Realtime.Contracts.Channels;

namespace Realtime.Grains.Stores.Memory;

/// <summary>
/// One channel's history in the memory engine, laid out for the garbage collector: the messages' bytes
/// sit in one circular buffer and their offsets, times and senders in a queue of structs, so a retained
/// message is not an object of its own. Kept as objects, every message of a busy channel lived through
/// several collections before it was trimmed, and copying them from generation to generation was the
/// latency tail of publishing to many channels (see docs/benchmarks.md, third round).
/// Not thread-safe: the engine holds the channel's lock.
/// </summary>
internal sealed class HistoryRing
{
    private const int MinBytes = 256;

    private readonly Queue<Entry> _entries = new();
    private byte[] _bytes = [];
    private int _tail; // where the next message's bytes go
    private int _used; // bytes held by the entries

    public int Count => _entries.Count;

    /// <summary>Bytes reserved for the buffer (for tests: it grows and shrinks with what is held).</summary>
    public int Capacity => _bytes.Length;

    public bool TryPeekOldest(out long offset, out DateTimeOffset timestamp)
    {
        var found = _entries.TryPeek(out var oldest);
        (offset, timestamp) = (oldest.Offset, oldest.Timestamp);
        return found;
    }

    public void Append(long offset, DateTimeOffset timestamp, string? from, ReadOnlySpan<byte> data)
    {
        EnsureFree(data.Length);
        var position = _tail;
        var first = Math.Min(data.Length, _bytes.Length - position);
        data[..first].CopyTo(_bytes.AsSpan(position));
        data[first..].CopyTo(_bytes);
        _tail = (position + data.Length) % _bytes.Length;
        _used += data.Length;
        _entries.Enqueue(new Entry(offset, timestamp, from, position, data.Length));
    }

    public void RemoveOldest()
    {
        _used -= _entries.Dequeue().Length;
        if (_bytes.Length > 4 * MinBytes && _used < _bytes.Length / 4)
        {
            Relocate(_bytes.Length / 2);
        }
    }

    /// <summary>The page a history query asks for: after an offset (oldest first, up to the limit), or the
    /// newest messages, optionally before an offset.</summary>
    public Publication[] Read(string channel, string epoch, HistoryQuery query)
    {
        var limit = Math.Max(0, query.Limit);
        // Offsets rise through the queue, so the messages before `Before` are a prefix of it.
        var selected = query.After is { } after
            ? _entries.Where(e => e.Offset > after).Take(limit)
            : _entries.TakeWhile(e => e.Offset < (query.Before ?? long.MaxValue)).TakeLast(limit);
        return selected.Select(e => new Publication(channel, e.Offset, epoch, e.From, Copy(e), e.Timestamp)).ToArray();
    }

    private byte[] Copy(Entry entry)
    {
        var data = new byte[entry.Length];
        var first = Math.Min(entry.Length, _bytes.Length - entry.Position);
        _bytes.AsSpan(entry.Position, first).CopyTo(data);
        _bytes.AsSpan(0, entry.Length - first).CopyTo(data.AsSpan(first));
        return data;
    }

    private void EnsureFree(int length)
    {
        if (_bytes.Length - _used >= length && _bytes.Length > 0)
        {
            return;
        }

        var capacity = Math.Max(MinBytes, _bytes.Length);
        while (capacity - _used < length)
        {
            capacity *= 2;
        }

        Relocate(capacity);
    }

    // Moves the held bytes to the start of a new buffer, oldest first, and points the entries at them.
    private void Relocate(int capacity)
    {
        var moved = new byte[capacity];
        var head = _bytes.Length == 0 ? 0 : (_tail - _used + _bytes.Length) % _bytes.Length;
        var first = Math.Min(_used, _bytes.Length - head);
        _bytes.AsSpan(head, first).CopyTo(moved);
        _bytes.AsSpan(0, _used - first).CopyTo(moved.AsSpan(first));

        var position = 0;
        for (var i = _entries.Count; i > 0; i--)
        {
            var entry = _entries.Dequeue();
            _entries.Enqueue(entry with { Position = position });
            position += entry.Length;
        }

        (_bytes, _tail) = (moved, _used % capacity);
    }

    private readonly record struct Entry(long Offset, DateTimeOffset Timestamp, string? From, int Position, int Length);
}
