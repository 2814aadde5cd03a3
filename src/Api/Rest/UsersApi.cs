using Microsoft.AspNetCore.Http.HttpResults;
using Realtime.Contracts.Grains;
using Realtime.Contracts.Rest;
using Realtime.Contracts.Wire;
using static Realtime.Api.Rest.Problems;

namespace Realtime.Api.Rest;

/// <summary>Server-to-server user endpoints: notifications, direct pushes, inbox (list and mark read), disconnect.</summary>
internal static class UsersApi
{
    private const int MaxUsers = 1000;
    private const int MaxIds = 1000; // as many as the socket's read command takes
    private const int MaxIdLength = 200;

    public static RouteGroupBuilder MapUsersApi(this RouteGroupBuilder api)
    {
        api.MapPost("/users/{user}/notifications", NotifyAsync);
        api.MapPost("/notifications", NotifyManyAsync);
        api.MapPost("/users/{user}/messages", SendAsync);
        api.MapGet("/users/{user}/notifications", ListAsync);
        api.MapPost("/users/{user}/notifications/read", ReadAsync);
        api.MapPost("/users/{user}/disconnect", DisconnectAsync);
        return api;
    }

    private static async Task<Results<Ok<NotifyResponse>, ProblemHttpResult>> NotifyAsync(string user, NotifyRequest? body, IGrainFactory grains)
    {
        if (Invalid(user) is { } problem)
        {
            return problem;
        }

        if (body?.Data is null)
        {
            return BadRequest("the body needs 'data'");
        }

        var id = await grains.GetGrain<IUserGrain>(user).NotifyAsync(body.Data.Utf8.AsImmutable(), body.IdempotencyKey, body.DeliverAt);
        return TypedResults.Ok(new NotifyResponse(id));
    }

    private static async Task<Results<Ok<NotifyManyResponse>, ProblemHttpResult>> NotifyManyAsync(NotifyManyRequest? body, IGrainFactory grains)
    {
        if (body?.Data is null || body.Users is not { Count: > 0 and <= MaxUsers } users || users.Any(u => Invalid(u) is not null))
        {
            return BadRequest($"the body needs 'data' and 'users' (1 to {MaxUsers} ids of 1 to 200 characters)");
        }

        var ids = await Task.WhenAll(users.Select(u => grains.GetGrain<IUserGrain>(u).NotifyAsync(body.Data.Utf8.AsImmutable(), null, null)));
        return TypedResults.Ok(new NotifyManyResponse(ids));
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> SendAsync(string user, DirectRequest? body, IGrainFactory grains)
    {
        if (Invalid(user) is { } problem)
        {
            return problem;
        }

        if (body?.Data is null)
        {
            return BadRequest("the body needs 'data'");
        }

        await grains.GetGrain<IUserGrain>(user).SendAsync(null, body.Data.Utf8.AsImmutable());
        return TypedResults.Accepted((string?)null);
    }

    private static async Task<Results<Ok<NotificationsResponse>, ProblemHttpResult>> ListAsync(string user, IGrainFactory grains, bool? unread, int? limit)
    {
        if (Invalid(user) is { } problem)
        {
            return problem;
        }

        if (limit is < 0)
        {
            return BadRequest("limit must not be negative");
        }

        var page = await grains.GetGrain<IUserGrain>(user).NotificationsAsync(unread ?? false, Math.Min(limit ?? 50, 1000));
        return TypedResults.Ok(new NotificationsResponse(
            page.Items.Select(e => new NotificationDto(e.Id, new RawJson(e.Data), e.Timestamp.UtcDateTime, e.Read)).ToArray(), page.Unread));
    }

    private static async Task<Results<Ok<MarkReadResponse>, ProblemHttpResult>> ReadAsync(string user, MarkReadRequest? body, IGrainFactory grains)
    {
        if (Invalid(user) is { } problem)
        {
            return problem;
        }

        if (body?.Ids is not { Count: > 0 and <= MaxIds } ids || ids.Any(id => id is not { Length: > 0 and <= MaxIdLength }))
        {
            return BadRequest($"the body needs 'ids' (1 to {MaxIds} notification ids of 1 to {MaxIdLength} characters)");
        }

        var unread = await grains.GetGrain<IUserGrain>(user).ReadAsync(ids.OfType<string>().ToArray());
        return TypedResults.Ok(new MarkReadResponse(unread));
    }

    private static async Task<Results<Accepted, ProblemHttpResult>> DisconnectAsync(string user, DisconnectRequest? body, IGrainFactory grains)
    {
        if (Invalid(user) is { } problem)
        {
            return problem;
        }

        await grains.GetGrain<IUserGrain>(user).DisconnectAsync(body?.Reason ?? "disconnected by the server");
        return TypedResults.Accepted((string?)null);
    }

    private static ProblemHttpResult? Invalid(string user) =>
        Contracts.Users.UserIds.IsValid(user) ? null : BadRequest("a user id is 1 to 200 characters, not all white space");
}
