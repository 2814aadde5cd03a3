using System.Collections.Concurrent;
using Microsoft.Extensions.Options;
using Realtime.Contracts.Channels;

namespace Realtime.Grains.Stores.Memory;

/// <summary>
/// The embedded store: one process, nothing to set up. Each channel's offset, history and
/// idempotency keys sit behind that channel's lock.
/// </summary>
public sealed partial class MemoryEngine(IOptions<RetentionOptions> retention, TimeProvider time) : IRealtimeStore
{
    private readonly ConcurrentDictionary<string, ChannelLog> _channels = new(StringComparer.Ordinal);

    public string Name => RealtimeOptions.MemoryEngine;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<bool> IsReadyAsync(CancellationToken cancellationToken) => Task.FromResult(true);

    public Task<AppendResult> AppendAsync(AppendRequest request, CancellationToken cancellationToken)
    {
        var log = _channels.GetOrAdd(request.Channel, static _ => new ChannelLog());
        var now = time.GetUtcNow();
        lock (log)
        {
            if (request.IdempotencyKey is { } key && log.Keys.TryGetValue(key, out var earlier))
            {
                return Task.FromResult(earlier.Result with { Duplicate = true });
            }

            var offset = ++log.Top;
            log.HistorySize = request.HistorySize;
            log.HistoryTtl = request.HistoryTtl;
            if (request.HistorySize > 0)
            {
                log.History.Append(offset, now, request.From, request.Data);
            }

            log.Trim(now);
            var result = new AppendResult(offset, log.Epoch, Timestamp: now);
            if (request.IdempotencyKey is { } newKey)
            {
                log.Keys[newKey] = (result, now + retention.Value.IdempotencyTtl);
            }

            return Task.FromResult(result);
        }
    }

    public Task<HistoryPage> ReadHistoryAsync(string channel, HistoryQuery query, CancellationToken cancellationToken)
    {
        var log = _channels.GetOrAdd(channel, static _ => new ChannelLog());
        lock (log)
        {
            log.Trim(time.GetUtcNow());
            var firstRetained = log.History.TryPeekOldest(out var first, out _) ? first : log.Top + 1;
            return Task.FromResult(new HistoryPage(log.Epoch, log.Top, firstRetained, log.History.Read(channel, log.Epoch, query)));
        }
    }

    public Task TrimAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        foreach (var log in _channels.Values)
        {
            lock (log)
            {
                log.Trim(now);
                foreach (var (key, (_, expires)) in log.Keys)
                {
                    if (expires <= now)
                    {
                        log.Keys.Remove(key);
                    }
                }
            }
        }

        TrimInboxes(now);
        return Task.CompletedTask;
    }

    private sealed class ChannelLog
    {
        // A new epoch for every new log: offsets from a log this process no longer has mean nothing here.
        public string Epoch { get; } = Guid.NewGuid().ToString("N")[..8];
        public long Top { get; set; }
        public int HistorySize { get; set; }
        public TimeSpan HistoryTtl { get; set; }
        public HistoryRing History { get; } = new();
        public Dictionary<string, (AppendResult Result, DateTimeOffset Expires)> Keys { get; } = new(StringComparer.Ordinal);

        public void Trim(DateTimeOffset now)
        {
            while (History.Count > HistorySize
                   || (History.TryPeekOldest(out _, out var oldest) && oldest + HistoryTtl <= now))
            {
                History.RemoveOldest();
            }
        }
    }
}
