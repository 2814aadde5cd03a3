using Realtime.Contracts.Grains;
using Realtime.Contracts.Users;
using Realtime.Silo.Runtime;

namespace Realtime.Grains.Users;

/// <summary>The reference to a <see cref="UserGrain"/> (what Orleans would generate).</summary>
internal sealed class UserGrainReference(GrainRuntime runtime, GrainId id) : GrainReference(runtime, id), IUserGrain
{
    private static readonly bool AttachInterleaves = Interleaves<IUserGrain>(nameof(AttachAsync));
    private static readonly bool DetachInterleaves = Interleaves<IUserGrain>(nameof(DetachAsync));
    private static readonly bool NotifyInterleaves = Interleaves<IUserGrain>(nameof(NotifyAsync));
    private static readonly bool SendInterleaves = Interleaves<IUserGrain>(nameof(SendAsync));
    private static readonly bool NotificationsInterleaves = Interleaves<IUserGrain>(nameof(NotificationsAsync));
    private static readonly bool ReadInterleaves = Interleaves<IUserGrain>(nameof(ReadAsync));
    private static readonly bool DisconnectInterleaves = Interleaves<IUserGrain>(nameof(DisconnectAsync));

    public Task<bool> AttachAsync(IUserSession session) =>
        Call(static (IUserGrain g, IUserSession s) => g.AttachAsync(s), session, AttachInterleaves);

    public Task DetachAsync(IUserSession session) =>
        Call(static (IUserGrain g, IUserSession s) => g.DetachAsync(s), session, DetachInterleaves);

    public Task<string> NotifyAsync(byte[] data, string? idempotencyKey, DateTimeOffset? deliverAt) =>
        Call(static (IUserGrain g, (byte[] Data, string? Key, DateTimeOffset? At) a) => g.NotifyAsync(a.Data, a.Key, a.At),
            (data, idempotencyKey, deliverAt), NotifyInterleaves);

    public Task SendAsync(string? from, byte[] data) =>
        Call(static (IUserGrain g, (string? From, byte[] Data) a) => g.SendAsync(a.From, a.Data), (from, data), SendInterleaves);

    public Task<InboxPage> NotificationsAsync(bool unreadOnly, int limit) =>
        Call(static (IUserGrain g, (bool UnreadOnly, int Limit) a) => g.NotificationsAsync(a.UnreadOnly, a.Limit), (unreadOnly, limit),
            NotificationsInterleaves);

    public Task<int> ReadAsync(IReadOnlyCollection<string> ids) =>
        Call(static (IUserGrain g, IReadOnlyCollection<string> i) => g.ReadAsync(i), ids, ReadInterleaves);

    public Task DisconnectAsync(string reason) =>
        Call(static (IUserGrain g, string r) => g.DisconnectAsync(r), reason, DisconnectInterleaves);
}
