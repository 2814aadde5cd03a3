using System.Net.Http.Json;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Startup;

public sealed class NodeRegistryTests
{
    [Fact]
    public async Task A_running_node_heartbeats_on_its_own_and_its_counts_show_in_info()
    {
        await using var server = await RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Silo:HeartbeatInterval"] = "00:00:00.100",
        });
        await using var client = await server.ConnectAsync("alice");
        await client.CallAsync(new { type = "subscribe", channel = "chat:counted" });

        await Eventually.TrueAsync(async () =>
        {
            var info = await server.Http.GetFromJsonAsync<JsonElement>("/api/info");
            return info.GetProperty("nodes").EnumerateArray().Any(n =>
                n.GetProperty("node").GetString() == "node-a" && n.GetProperty("connections").GetInt32() == 1 && n.GetProperty("channels").GetInt32() == 1);
        }, "node-a reports one connection and one channel");
    }
}
