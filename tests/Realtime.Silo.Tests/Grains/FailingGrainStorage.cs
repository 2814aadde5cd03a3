using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;
using Realtime.Grains;
using Realtime.Grains.Channels;

namespace Realtime.Silo.Tests.Grains;

/// <summary>
/// The product's grain storage misbehaving as real ones do: writes that fail, as while PostgreSQL restarts; writes
/// that wait, as on a PostgreSQL slow to answer; and a serialiser that reads the state off the grain's scheduler,
/// across awaits, as the ADO.NET provider does after its own <c>ConfigureAwait(false)</c>. It wraps a real memory
/// grain storage (Orleans' own), keeps what each channel grain last stored, and counts the writes it refused. One
/// instance per process: both silos of an in-process cluster share it.
/// </summary>
public sealed class FailingGrainStorage(IGrainStorage inner) : IGrainStorage
{
    private const string Inner = "realtime-inner";
    private static int _failuresLeft;
    private static int _refused;
    private static int _held;
    private static readonly ConcurrentDictionary<string, string[]> Stored = new();

    /// <summary>Writes refused so far.</summary>
    public static int Refused => Volatile.Read(ref _refused);

    /// <summary>Writes read the members one at a time with a pause between, off the grain's scheduler.</summary>
    public static bool SlowSerialiser { get; set; }

    private static TaskCompletionSource? _hold;

    /// <summary>Writes wait (as on a PostgreSQL slow to answer) until the returned scope is disposed.</summary>
    public static HeldWrites HoldWrites()
    {
        Volatile.Write(ref _hold, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        return new HeldWrites(Volatile.Read(ref _held));
    }

    public sealed class HeldWrites(int before) : IDisposable
    {
        /// <summary>Waits until a write has started waiting.</summary>
        public Task WriteWaitingAsync(string because) =>
            Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref _held) > before), because);

        public void Dispose() => Interlocked.Exchange(ref _hold, null)?.TrySetResult();
    }

    /// <summary>The next <paramref name="count"/> writes throw.</summary>
    public static void FailNext(int count) => Volatile.Write(ref _failuresLeft, count);

    /// <summary>Successful writes of a channel grain's state.</summary>
    public static int Writes(string channel) => Written.GetValueOrDefault(channel);

    private static readonly ConcurrentDictionary<string, int> Written = new();

    /// <summary>The clients a channel grain's storage holds, as of its last successful write.</summary>
    public static string[] MembersStored(string channel) =>
        Stored.TryGetValue(channel, out var clients) ? clients : [];

    /// <summary>Puts this storage in place of the product's (registered under the same name, after it).</summary>
    public static void Replace(ISiloBuilder silo)
    {
        silo.AddMemoryGrainStorage(Inner);
        silo.Services.AddKeyedSingleton<IGrainStorage>(RealtimeProviders.Storage,
            (services, _) => new FailingGrainStorage(services.GetRequiredKeyedService<IGrainStorage>(Inner)));
    }

    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ReadStateAsync(stateName, grainId, grainState);

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        if (Volatile.Read(ref _hold) is { } hold)
        {
            Interlocked.Increment(ref _held);
            await hold.Task.ConfigureAwait(false);
        }

        if (Interlocked.Decrement(ref _failuresLeft) >= 0)
        {
            Interlocked.Increment(ref _refused);
            throw new InvalidOperationException("grain storage is down (FailingGrainStorage)");
        }

        var clients = new List<string>();
        if (grainState.State is ChannelMembers members)
        {
            foreach (var client in members.Members.Keys)
            {
                clients.Add(client);
                if (SlowSerialiser)
                {
                    await Task.Delay(1).ConfigureAwait(false);
                }
            }
        }

        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (grainState.State is ChannelMembers)
        {
            Stored[grainId.Key.ToString()!] = [.. clients];
            Written.AddOrUpdate(grainId.Key.ToString()!, 1, (_, count) => count + 1);
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState) =>
        inner.ClearStateAsync(stateName, grainId, grainState);
}
