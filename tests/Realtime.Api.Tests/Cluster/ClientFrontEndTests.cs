using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Contracts.Grains;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Cluster;

/// <summary>
/// Front ends as Orleans clients (real Kestrel, Realtime:Orleans:Role=client) of a TestingHost cluster of two
/// silos: the protocol works across front ends, and a silo killed under load loses nothing.
/// </summary>
[Collection(ClusterCollection.Name)]
public sealed class ClientFrontEndTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Two_client_front_ends_share_channels_presence_and_notifications()
    {
        await using var silos = await SiloCluster.StartAsync();
        await using var a = await silos.StartFrontEndAsync("fe-a");
        await using var b = await silos.StartFrontEndAsync("fe-b");
        await using var alice = await a.ConnectAsync("alice");
        await using var bob = await b.ConnectAsync("bob");
        await alice.CallAsync(new { type = "subscribe", channel = "chat:shared" });
        await bob.CallAsync(new { type = "subscribe", channel = "chat:shared" });
        Assert.Equal("bob", (await alice.NextPushAsync("join")).GetProperty("user").GetString());

        for (var i = 1; i <= 5; i++)
        {
            await (i % 2 == 0 ? alice : bob).CallAsync(new { type = "publish", channel = "chat:shared", data = i });
        }

        Assert.Equal([1, 2, 3, 4, 5], (await alice.MessagesAsync(5)).Select(m => m.GetProperty("data").GetInt32()));
        Assert.Equal([1, 2, 3, 4, 5], (await bob.MessagesAsync(5)).Select(m => m.GetProperty("data").GetInt32()));
        var presence = await a.Http.GetFromJsonAsync<JsonElement>("/api/channels/chat:shared/presence");
        Assert.Equal(["alice", "bob"], presence.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("user").GetString()).Order());

        await a.PostAsync<JsonElement>("/api/users/bob/notifications", new { data = new { title = "hi" } });
        Assert.Equal("hi", (await bob.NextPushAsync("notification")).GetProperty("data").GetProperty("title").GetString());
        var info = await b.Http.GetFromJsonAsync<JsonElement>("/api/info");
        await Eventually.TrueAsync(async () =>
            (await b.Http.GetFromJsonAsync<JsonElement>("/api/info")).GetProperty("nodes").GetArrayLength() == 2, "both front ends are listed");
    }

    [Fact]
    public async Task Front_ends_wait_5_s_for_a_grain_call_and_silos_10_s_unless_Realtime_Orleans_ResponseTimeout_says_otherwise()
    {
        await using var silos = await SiloCluster.StartAsync();
        await using var byDefault = await silos.StartFrontEndAsync("fe-default");
        await using var configured = await silos.StartFrontEndAsync("fe-configured", new Dictionary<string, string?>
        {
            ["Realtime:Orleans:ResponseTimeout"] = "00:00:08",
        });
        await using var cohosted = await RealtimeServer.StartAsync();

        // A front end's call forwarded by a gateway to a silo that dies is failed by nothing but this timeout, and a
        // socket's later commands wait behind it: 5 s keeps them inside SPEC §9.7's 10 s after a silo's death.
        TimeSpan ClientTimeout(RealtimeServer server) =>
            server.Services.GetRequiredService<IOptions<Orleans.Configuration.ClientMessagingOptions>>().Value.ResponseTimeout;
        Assert.Equal(TimeSpan.FromSeconds(5), ClientTimeout(byDefault));
        Assert.Equal(TimeSpan.FromSeconds(8), ClientTimeout(configured));
        Assert.Equal(TimeSpan.FromSeconds(10),
            cohosted.Services.GetRequiredService<IOptions<Orleans.Configuration.SiloMessagingOptions>>().Value.ResponseTimeout);
    }

    [Fact]
    public async Task A_silo_killed_under_load_loses_nothing_for_subscribers_on_both_front_ends_and_a_new_silo_serves()
    {
        await using var silos = await SiloCluster.StartAsync();
        await using var a = await silos.StartFrontEndAsync("fe-a");
        await using var b = await silos.StartFrontEndAsync("fe-b");
        await using var publisher = await a.ConnectAsync("publisher");
        var readers = new[] { await a.ConnectAsync("reader-a"), await b.ConnectAsync("reader-b") };
        var channel = await ChannelOnAsync(silos, a, silos.Cluster.SecondarySilos[0].SiloAddress);
        foreach (var reader in readers)
        {
            await reader.CallAsync(new { type = "subscribe", channel });
        }

        var acked = new List<long>();
        async Task PublishAsync(int n)
        {
            // Refused while the cluster notices the dead silo: never acknowledged, so tried again.
            await Eventually.TrueAsync(async () =>
            {
                var reply = await publisher.RequestAsync(new { type = "publish", channel, data = n });
                if (reply.TryGetProperty("result", out var result))
                {
                    acked.Add(result.GetProperty("offset").GetInt64());
                    return true;
                }

                Assert.Equal("unavailable", reply.GetProperty("error").GetProperty("code").GetString());
                return false;
            }, $"publish {n} is acknowledged", TimeSpan.FromSeconds(60));
        }

        for (var n = 0; n < 20; n++)
        {
            await PublishAsync(n);
        }

        await silos.Cluster.KillSiloAsync(silos.Cluster.SecondarySilos[0]);
        for (var n = 20; n < 60; n++)
        {
            await PublishAsync(n);
        }

        foreach (var reader in readers)
        {
            var offsets = (await reader.MessagesAsync(acked.Count)).Select(m => m.GetProperty("offset").GetInt64()).ToList();
            Assert.Equal(acked, offsets);
        }

        await silos.Cluster.StartAdditionalSiloAsync();
        for (var n = 60; n < 70; n++)
        {
            await PublishAsync(n);
        }

        foreach (var reader in readers)
        {
            Assert.Equal(acked.Skip(60), (await reader.MessagesAsync(10)).Select(m => m.GetProperty("offset").GetInt64()));
        }

        var presence = await b.Http.GetFromJsonAsync<JsonElement>($"/api/channels/{channel}/presence");
        Assert.Equal(["reader-a", "reader-b"], presence.GetProperty("clients").EnumerateArray().Select(c => c.GetProperty("user").GetString()).Order());
        output.WriteLine($"{acked.Count} acknowledged, every one delivered to both readers in order");
        foreach (var reader in readers)
        {
            await reader.DisposeAsync();
        }
    }

    // A channel whose grain lives on the given silo, so killing that silo takes the grain with it.
    private static async Task<string> ChannelOnAsync(SiloCluster silos, RealtimeServer frontEnd, SiloAddress silo)
    {
        var grains = frontEnd.Services.GetRequiredService<IGrainFactory>();
        for (var i = 0; i < 100; i++)
        {
            var channel = $"chat:kill-{i}";
            // A placement hint, as Orleans' own tests give one: activate the grain on that silo.
            RequestContext.Set(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey, silo);
            try
            {
                await grains.GetGrain<IChannelGrain>(channel).PresenceAsync(null);
            }
            finally
            {
                RequestContext.Remove(Orleans.Runtime.Placement.IPlacementDirector.PlacementHintKey);
            }

            var stats = await silos.Cluster.Client.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
            if (stats.Any(s => s.SiloAddress.Equals(silo) && s.GrainId.ToString().EndsWith("/" + channel, StringComparison.Ordinal)))
            {
                return channel;
            }
        }

        throw new InvalidOperationException("no channel grain was placed on the silo");
    }
}
