using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Contracts.Channels;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Rest;
using Realtime.Contracts.Wire;
using static Realtime.Api.Rest.Problems;

namespace Realtime.Api.Rest;

/// <summary>Server-to-server channel endpoints: publish, broadcast, history, presence.</summary>
internal static class ChannelsApi
{
    private const int DefaultLimit = 50;
    private const int MaxLimit = 1000;
    private const int MaxBroadcastChannels = 1000;

    public static RouteGroupBuilder MapChannelsApi(this RouteGroupBuilder api)
    {
        api.MapPost("/channels/{channel}/messages", PublishAsync);
        api.MapPost("/broadcast", BroadcastAsync);
        api.MapGet("/channels/{channel}/history", HistoryAsync);
        api.MapGet("/channels/{channel}/presence", PresenceAsync);
        return api;
    }

    private static async Task<Results<Ok<PublishResponse>, ProblemHttpResult>> PublishAsync(
        string channel, PublishRequest? body, IGrainFactory grains)
    {
        if (Invalid(channel) is { } problem)
        {
            return problem;
        }

        if (body?.Data is null)
        {
            return BadRequest("the body needs 'data'");
        }

        var result = await grains.GetGrain<IChannelGrain>(channel).PublishAsync(null, body.Data.Utf8.AsImmutable(), body.IdempotencyKey);
        return TypedResults.Ok(new PublishResponse(result.Offset, result.Epoch));
    }

    private static async Task<Results<Ok<BroadcastResponse>, ProblemHttpResult>> BroadcastAsync(BroadcastRequest? body, IGrainFactory grains)
    {
        if (body?.Data is null || body.Channels is not { Count: > 0 and <= MaxBroadcastChannels } channels)
        {
            return BadRequest($"the body needs 'data' and 'channels' (1 to {MaxBroadcastChannels} names)");
        }

        if (channels.FirstOrDefault(c => !ChannelName.IsValid(c, out _)) is { } bad)
        {
            return BadRequest($"'{bad}' is not a valid channel name");
        }

        var results = await Task.WhenAll(channels.Distinct(StringComparer.Ordinal).Select(async channel =>
        {
            try
            {
                var r = await grains.GetGrain<IChannelGrain>(channel).PublishAsync(null, body.Data.Utf8.AsImmutable(), null);
                return new BroadcastResult(channel, r.Offset, r.Epoch, null, null);
            }
            catch (RealtimeException e)
            {
                return new BroadcastResult(channel, null, null, e.Code, e.Message);
            }
        }));
        return TypedResults.Ok(new BroadcastResponse(results));
    }

    private static async Task<Results<Ok<HistoryResponse>, ProblemHttpResult>> HistoryAsync(
        string channel, IGrainFactory grains, int? limit, long? since, string? epoch, long? before)
    {
        if (Invalid(channel) is { } problem)
        {
            return problem;
        }

        if (limit is < 0 || since is < 0 || before is < 0)
        {
            return BadRequest("limit, since and before must not be negative");
        }

        var page = await grains.GetGrain<IChannelGrain>(channel)
            .HistoryAsync(null, new HistoryQuery(Math.Min(limit ?? DefaultLimit, MaxLimit), since, before));
        if (epoch is not null && epoch != page.Epoch)
        {
            return TypedResults.Problem($"epoch '{epoch}' is not the channel's epoch '{page.Epoch}'; offsets from it mean nothing now",
                statusCode: StatusCodes.Status409Conflict);
        }

        var messages = page.Messages.Select(p => new MessageDto(p.Channel, p.Offset, p.Epoch, p.From, new RawJson(p.Data), p.Timestamp.UtcDateTime)).ToArray();
        return TypedResults.Ok(new HistoryResponse(page.Epoch, page.Offset, messages));
    }

    private static async Task<Results<Ok<PresenceResponse>, ProblemHttpResult>> PresenceAsync(string channel, IGrainFactory grains)
    {
        if (Invalid(channel) is { } problem)
        {
            return problem;
        }

        var entries = await grains.GetGrain<IChannelGrain>(channel).PresenceAsync(null);
        return TypedResults.Ok(new PresenceResponse(
            entries.Select(e => new PresenceClientDto(e.Client, e.User)).ToArray(),
            entries.Select(e => e.User).Distinct(StringComparer.Ordinal).Count()));
    }

    private static ProblemHttpResult? Invalid(string channel) =>
        ChannelName.IsValid(channel, out var problem) ? null : BadRequest(problem!);
}
