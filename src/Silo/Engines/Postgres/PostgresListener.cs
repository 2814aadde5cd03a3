using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Npgsql;
using Realtime.Contracts.Streams;
using Realtime.Silo.Engines.Memory;

namespace Realtime.Silo.Engines.Postgres;

/// <summary>
/// One dedicated LISTEN connection per node. Payloads are queued in arrival (commit) order and
/// dispatched by one loop, which also resolves payloads sent by reference. When the connection
/// breaks, the loop reconnects, listens again and raises a <see cref="ResyncEvent"/> on every
/// locally observed stream, so channel grains refill what was published meanwhile from history.
/// </summary>
internal sealed class PostgresListener(
    string connectionString,
    TimeSpan reconnectDelay,
    Func<EventCodec.Reference, CancellationToken, Task<StreamEvent?>> resolve,
    ILogger logger)
{
    private static readonly string Resync = new('\0', 1); // a unique instance: compared by reference

    private readonly MemoryStreams _local = new();
    private readonly Channel<string> _payloads = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _listen = Task.CompletedTask;
    private Task _dispatch = Task.CompletedTask;
    private volatile bool _listening;

    public bool IsListening => _listening;

    public IDisposable Subscribe(StreamKey key, Action<StreamEvent> onEvent) => _local.Subscribe(key, onEvent);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        _dispatch = Task.Run(DispatchAsync);
        _listen = Task.Run(() => ListenAsync(connection));
    }

    public async Task StopAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _listen.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _payloads.Writer.TryComplete();
        await _dispatch.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    private async Task<NpgsqlConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString)
        {
            KeepAlive = 2,        // a dead server is noticed while waiting, not at the next query
            Pooling = false,
        };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            connection.Notification += (_, e) => _payloads.Writer.TryWrite(e.Payload);
            await using var listen = new NpgsqlCommand($"listen {PostgresSchema.EventsChannel}", connection);
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            _listening = true;
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task ListenAsync(NpgsqlConnection? connection)
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                if (connection is null)
                {
                    connection = await ConnectAsync(token).ConfigureAwait(false);
                    PostgresLog.Listening(logger, resync: true);
                    _payloads.Writer.TryWrite(Resync);
                }

                while (true)
                {
                    await connection.WaitAsync(token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                _listening = false;
                PostgresLog.ListenFailed(logger, e, reconnectDelay);
                if (connection is not null)
                {
                    await connection.DisposeAsync().ConfigureAwait(false);
                    connection = null;
                }

                await Task.Delay(reconnectDelay, token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }

        _listening = false;
        if (connection is not null)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task DispatchAsync()
    {
        await foreach (var payload in _payloads.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (ReferenceEquals(payload, Resync))
            {
                _local.PublishToAll(new ResyncEvent());
                continue;
            }

            try
            {
                var decoded = EventCodec.Decode(payload);
                if (decoded is EventCodec.Reference reference && !_local.HasObservers(reference.Key))
                {
                    continue; // nobody here listens to that stream: do not read the row
                }

                var streamEvent = decoded as StreamEvent
                    ?? await resolve((EventCodec.Reference)decoded, _stopping.Token).ConfigureAwait(false);
                if (streamEvent is not null)
                {
                    _local.Publish(EventCodec.KeyOf(streamEvent), streamEvent);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                PostgresLog.BadPayload(logger, e);
            }
        }
    }
}
