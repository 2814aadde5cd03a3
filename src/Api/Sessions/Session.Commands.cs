using System.Net.WebSockets;
using Realtime.Api.Diagnostics;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Wire;
using Realtime.Api.Feeds;

namespace Realtime.Api.Sessions;

internal sealed partial class Session
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 1000;
    private const double ErrorCost = 5; // a bad frame costs five commands, so garbage floods hit 4029 sooner

    private int _strikes;

    private async Task HandleFrameAsync(WebSocketMessageType type, ReadOnlyMemory<byte> frame)
    {
        byte[]? reply;
        if (type != _frameType)
        {
            // The other kind of frame is not this subprotocol's: the WebSocket answer to it is 1003.
            RequestClose(CloseCodes.UnsupportedData, _format == WireFormat.Json
                ? "binary frame on realtime.json; ask for realtime.msgpack to send MessagePack"
                : "text frame on realtime.msgpack; send each command as one binary frame", dropQueue: true);
            return;
        }

        byte[]? converted = null;
        if (_format == WireFormat.MessagePack && !MessagePackFrames.TryToJson(frame, out converted, out var unreadable))
        {
            reply = ServerFrames.Error(unreadable!.Id, unreadable.Code, unreadable.Message);
        }
        else if (!CommandParser.TryParse(converted is null ? frame.Span : converted, out var command, out var error))
        {
            reply = ServerFrames.Error(error!.Id, error.Code, error.Message);
        }
        else if (!_rate.TryTake())
        {
            CountStrike(command!.Id);
            return;
        }
        else
        {
            _strikes = 0;
            using var span = RealtimeTracing.StartCommand(command!, ClientId);
            reply = await ExecuteAsync(command!).ConfigureAwait(false);
            if (reply is not null)
            {
                Enqueue(reply);
            }

            return;
        }

        if (!_rate.TryTake(ErrorCost))
        {
            CountStrike(null);
            return;
        }

        Enqueue(reply);
    }

    // Past the rate limit each command gets rate_limited; a client that keeps going regardless is closed.
    private void CountStrike(long? id)
    {
        _registry.Metrics.RateLimited();
        if (++_strikes > _registry.Limits.CommandBurst / 4)
        {
            SessionsLog.Flooding(_registry.Logger, ClientId, Identity?.User);

            // Keep the queue: it holds the rate_limited replies the client must see before 4029 (SPEC §6).
            // It is bounded by MaxQueueBytes, and CloseTimeout aborts a client that stops reading.
            RequestClose(CloseCodes.TooManyRequests, "too many commands", dropQueue: false,
                ServerFrames.Disconnect(CloseCodes.TooManyRequests, "too many commands", reconnect: false));
            return;
        }

        Enqueue(ServerFrames.Error(id, ErrorCodes.RateLimited, $"over {_registry.Limits.CommandsPerSecond} commands per second; slow down"));
    }

    private async ValueTask<byte[]?> ExecuteAsync(ClientCommand command)
    {
        if (Identity is null && command.Type != CommandType.Connect)
        {
            return ServerFrames.Error(command.Id, ErrorCodes.Unauthorized, "send 'connect' with a token first");
        }

        // Every command about a channel names a valid one: checked here once, not by each handler.
        if (command.Type is CommandType.Subscribe or CommandType.Unsubscribe or CommandType.Publish or CommandType.History or CommandType.Presence
            && ValidateChannel(command) is { } invalid)
        {
            return invalid;
        }

        try
        {
            return command.Type switch
            {
                CommandType.Connect => await ConnectAsync(command).ConfigureAwait(false),
                CommandType.Subscribe => await SubscribeAsync(command).ConfigureAwait(false),
                CommandType.Unsubscribe => await UnsubscribeAsync(command).ConfigureAwait(false),
                CommandType.Publish => await PublishAsync(command).ConfigureAwait(false),
                CommandType.History => await HistoryAsync(command).ConfigureAwait(false),
                CommandType.Presence => await PresenceAsync(command).ConfigureAwait(false),
                CommandType.Send => await SendAsync(command).ConfigureAwait(false),
                CommandType.Notifications => await NotificationsAsync(command).ConfigureAwait(false),
                CommandType.Read => await ReadAsync(command).ConfigureAwait(false),
                CommandType.Ping => ServerFrames.EmptyResult(command.Id),
                _ => ServerFrames.Error(command.Id, ErrorCodes.BadRequest, "unknown command"),
            };
        }
        catch (Exception e) when (RealtimeException.FindIn(e) is { } known)
        {
            return ServerFrames.Error(command.Id, known.Code, known.Message);
        }
        catch (Exception e) when (e is OperationCanceledException && IsClosing)
        {
            return null;
        }
        catch (Exception e) when (ClusterErrors.IsUnavailable(e))
        {
            SessionsLog.ClusterUnavailable(_registry.Logger, e, ClientId, command.Type.ToString());
            return ServerFrames.Error(command.Id, ErrorCodes.Unavailable, "the service is unavailable, try again");
        }
        catch (Exception e)
        {
            // The client learns only that it failed; the details go to the log.
            SessionsLog.CommandFailed(_registry.Logger, e, ClientId, command.Type.ToString());
            return ServerFrames.Error(command.Id, ErrorCodes.Internal, "internal error");
        }
    }

    private async Task<byte[]?> ConnectAsync(ClientCommand command)
    {
        if (Identity is not null && command.Token is null)
        {
            return ConnectReply(command.Id);
        }

        return await AuthenticateAsync(command.Token, command.Id).ConfigureAwait(false);
    }

    /// <summary>Validates a token from the query string or a connect command. A bad token closes the
    /// socket with 4001; a new token on a live session extends it (same user only).</summary>
    private async Task<byte[]?> AuthenticateAsync(string? token, long? replyTo)
    {
        var (claims, problem) = await _registry.Tokens.ValidateAsync(token).ConfigureAwait(false);
        if (claims is null)
        {
            SessionsLog.AuthFailed(_registry.Logger, ClientId, problem);
            RequestClose(CloseCodes.Unauthorized, problem, dropQueue: false,
                ServerFrames.Disconnect(CloseCodes.Unauthorized, problem, reconnect: false));
            return null;
        }

        if (Identity is not null)
        {
            if (claims!.User != Identity.User)
            {
                return ServerFrames.Error(replyTo, ErrorCodes.BadRequest, "a refreshed token must be for the same user");
            }

            (Identity, ExpiresAt) = (new ClientIdentity(claims.User, claims.Channels), claims.ExpiresAt);
            return replyTo is { } refreshed ? ConnectReply(refreshed) : null;
        }

        var identity = new ClientIdentity(claims!.User, claims.Channels);
        if (!_registry.Users.TryAttach(identity.User, this))
        {
            var reason = $"user has {_registry.Limits.MaxConnectionsPerUser} connections on this node already";
            RequestClose(CloseCodes.TooManyRequests, reason, dropQueue: false, ServerFrames.Disconnect(CloseCodes.TooManyRequests, reason, reconnect: false));
            return null;
        }

        (Identity, ExpiresAt) = (identity, claims.ExpiresAt);
        return replyTo is { } id ? ConnectReply(id) : null;
    }

    private byte[] ConnectReply(long id) => ServerFrames.Result(id, (this, _registry.NodeId), static (w, s) =>
    {
        w.WriteString("client"u8, s.Item1.ClientId);
        w.WriteString("user"u8, s.Item1.Identity!.User);
        w.WriteString("node"u8, s.NodeId);
    });

    // A subscribe queued at an activation that went meanwhile (its last member left, say) is forwarded to the next one;
    // while the grain directory still names the old one the forwarding fails, and Orleans turns the call away unrun.
    // It is sent again, a couple of times, before the client hears unavailable. (Not when a silo died mid-call: that
    // call may have run, and the client's own retry, told unavailable, is the safer one.)
    private async Task<SubscribeResult> SubscribeToGrainAsync(IChannelGrain grain, ChannelSubscription subscription, StreamPosition? since)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await grain.SubscribeAsync(_registry.Feeds.MemberOf(subscription), Identity!, since).ConfigureAwait(false);
            }
            catch (OrleansMessageRejectionException e) when (e is not SiloUnavailableException && attempt < 3 && !IsClosing)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt)).ConfigureAwait(false);
            }
        }
    }

    private async Task<byte[]?> SubscribeAsync(ClientCommand command)
    {
        var channel = command.Channel!;
        if (_subscriptions.TryGetValue(channel, out var existing))
        {
            if (!existing.IsClosed)
            {
                return ServerFrames.Error(command.Id, ErrorCodes.BadRequest, $"already subscribed to '{channel}'");
            }

            _subscriptions.Remove(channel); // evicted by the server: subscribing again is how the client recovers
            _registry.Metrics.Unsubscribed();
        }

        if (_subscriptions.Count >= _registry.Limits.MaxSubscriptions)
        {
            return ServerFrames.Error(command.Id, ErrorCodes.BadRequest, $"at most {_registry.Limits.MaxSubscriptions} subscriptions per connection");
        }

        // In the feed before the grain knows the member: a push racing the reply is held, not lost.
        var subscription = new ChannelSubscription(this, channel);
        var feed = _registry.Feeds.Add(channel, subscription);
        var grain = _registry.Grains.GetGrain<IChannelGrain>(channel);
        SubscribeResult result;
        try
        {
            result = await SubscribeToGrainAsync(grain, subscription, command.Since).ConfigureAwait(false);
            var from = await feed.StartAtAsync(result.Epoch, result.Offset, result.PresenceSequence).ConfigureAwait(false);
            if (from > result.Offset)
            {
                result = await ReachAsync(grain, result, from, command.Since is not null).ConfigureAwait(false);
            }
        }
        catch
        {
            _registry.Feeds.Remove(channel, subscription);
            throw;
        }

        _subscriptions.Add(channel, subscription);
        _registry.Metrics.Subscribed();
        subscription.Confirm(result.Offset, result.PresenceSequence, ServerFrames.Result(command.Id, result, static (w, r) =>
        {
            w.WriteString("channel"u8, r.Channel);
            w.WriteString("epoch"u8, r.Epoch);
            w.WriteNumber("offset"u8, r.Offset);
            w.WriteBoolean("recovered"u8, r.Recovered);
            ServerFrames.WriteMessages(w, r.Messages);
        }));
        return null;
    }

    // This socket's reply stops short of where the channel's feed on this node began (sockets subscribing at once
    // to a channel new here, and another's reply started the feed further on): nothing between was handed on here.
    // A subscriber that asked to recover gets those messages from history in its reply; one that did not simply
    // starts where the feed did. Either way the reply's offset is where live delivery continues, with no gap.
    private async Task<SubscribeResult> ReachAsync(IChannelGrain grain, SubscribeResult result, long from, bool recovering)
    {
        if (!recovering)
        {
            return result with { Offset = from };
        }

        var missed = from - result.Offset;
        HistoryPage page;
        try
        {
            page = await grain.HistoryAsync(Identity, new HistoryQuery((int)Math.Min(missed, MaxLimit), After: result.Offset)).ConfigureAwait(false);
        }
        catch (Exception e) when (RealtimeException.FindIn(e) is not null || ClusterErrors.IsUnavailable(e))
        {
            // The grain has the member already: failing the subscribe would leave it there, with a join and a leave
            // for a socket that never subscribed. The client learns what it lost the protocol's way instead.
            return result with { Offset = from, Recovered = false };
        }

        var between = page.Epoch == result.Epoch ? page.Messages.Where(m => m.Offset <= from).ToList() : [];
        return result with
        {
            Offset = from,
            Messages = [.. result.Messages, .. between],
            Recovered = result.Recovered && between.Count == missed,
        };
    }

    private async Task<byte[]?> UnsubscribeAsync(ClientCommand command)
    {
        if (!_subscriptions.Remove(command.Channel!, out var subscription))
        {
            return ServerFrames.Error(command.Id, ErrorCodes.NotFound, $"not subscribed to '{command.Channel}'");
        }

        subscription.Close();
        _registry.Feeds.Remove(subscription.Channel, subscription);
        _registry.Metrics.Unsubscribed();
        await _registry.Feeds.LeaveAsync(subscription.Channel, ClientId).ConfigureAwait(false);
        return ServerFrames.EmptyResult(command.Id);
    }

    private async ValueTask<byte[]?> PublishAsync(ClientCommand command)
    {
        var result = await _registry.Grains.GetGrain<IChannelGrain>(command.Channel!).PublishAsync(Identity, command.Data!.AsImmutable(), null).ConfigureAwait(false);
        return ServerFrames.Result(command.Id, result, static (w, r) =>
        {
            w.WriteNumber("offset"u8, r.Offset);
            w.WriteString("epoch"u8, r.Epoch);
        });
    }

    private async Task<byte[]?> HistoryAsync(ClientCommand command)
    {
        var query = new HistoryQuery(Math.Min(command.Limit ?? DefaultLimit, MaxLimit), command.Since?.Offset, command.Before);
        var page = await _registry.Grains.GetGrain<IChannelGrain>(command.Channel!).HistoryAsync(Identity, query).ConfigureAwait(false);
        return ServerFrames.Result(command.Id, page, static (w, p) =>
        {
            w.WriteString("epoch"u8, p.Epoch);
            w.WriteNumber("offset"u8, p.Offset);
            ServerFrames.WriteMessages(w, p.Messages);
        });
    }

    private async Task<byte[]?> PresenceAsync(ClientCommand command)
    {
        var entries = await _registry.Grains.GetGrain<IChannelGrain>(command.Channel!).PresenceAsync(Identity).ConfigureAwait(false);
        return ServerFrames.Result(command.Id, entries, ServerFrames.WritePresence);
    }

    private async Task<byte[]?> SendAsync(ClientCommand command)
    {
        if (!Contracts.Users.UserIds.IsValid(command.User))
        {
            return ServerFrames.Error(command.Id, ErrorCodes.BadRequest, "'user' must be 1 to 200 characters, not all white space");
        }

        await _registry.Grains.GetGrain<IUserGrain>(command.User!).SendAsync(Identity!.User, command.Data!.AsImmutable()).ConfigureAwait(false);
        return ServerFrames.EmptyResult(command.Id);
    }

    private async Task<byte[]?> NotificationsAsync(ClientCommand command)
    {
        var page = await _registry.Grains.GetGrain<IUserGrain>(Identity!.User)
            .NotificationsAsync(command.Unread, Math.Min(command.Limit ?? DefaultLimit, MaxLimit)).ConfigureAwait(false);
        return ServerFrames.Result(command.Id, page, static (w, p) =>
        {
            ServerFrames.WriteInboxItems(w, p.Items);
            w.WriteNumber("unread"u8, p.Unread);
        });
    }

    private async Task<byte[]?> ReadAsync(ClientCommand command)
    {
        var unread = await _registry.Grains.GetGrain<IUserGrain>(Identity!.User).ReadAsync(command.Ids!.ToArray()).ConfigureAwait(false);
        return ServerFrames.Result(command.Id, unread, static (w, n) => w.WriteNumber("unread"u8, n));
    }

    private static byte[]? ValidateChannel(ClientCommand command) =>
        ChannelName.IsValid(command.Channel, out var problem) ? null : ServerFrames.Error(command.Id, ErrorCodes.BadRequest, problem!);

    /// <summary>Leaves every channel and the user's sockets on this node when the socket ends.</summary>
    private async Task LeaveEverythingAsync()
    {
        if (Identity is { } identity)
        {
            _registry.Users.Detach(identity.User, this);
        }

        foreach (var subscription in _subscriptions.Values)
        {
            subscription.Close();
            _registry.Feeds.Remove(subscription.Channel, subscription);
            _registry.Metrics.Unsubscribed();
            await Quietly(_registry.Feeds.LeaveAsync(subscription.Channel, ClientId)).ConfigureAwait(false);
        }

        _subscriptions.Clear();
    }

    private async Task Quietly(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            SessionsLog.CommandFailed(_registry.Logger, e, ClientId, "cleanup");
        }
    }
}
