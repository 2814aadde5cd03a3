using System.Net.Http.Json;
using System.Text.Json;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Cluster;

[Collection(ClusterCollection.Name)]
public sealed class LoadBalancerTests
{
    [Fact]
    public async Task Through_round_robin_nginx_twenty_clients_on_both_nodes_all_receive_all_of_a_thousand_messages()
    {
        await using var cluster = await TestCluster.StartAsync(apiNodes: 2);
        await using var nginx = await NginxBalancer.StartAsync(cluster.Nodes);
        var clients = new List<TestClient>();
        var nodes = new List<string>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                var client = await TestClient.OpenAsync(new Uri($"{nginx.WebSocketUri}?token={RealtimeServer.Token($"user{i}")}"));
                clients.Add(client);
                nodes.Add((await client.CallAsync(new { type = "connect" })).GetProperty("node").GetString()!);
                await client.CallAsync(new { type = "subscribe", channel = "chat:lb" });
            }

            Assert.Equal(["node-a", "node-b"], nodes.Distinct().Order());

            using var http = new HttpClient { BaseAddress = nginx.BaseUri };
            http.DefaultRequestHeaders.Add("X-Api-Key", RealtimeServer.ApiKey);
            for (var i = 0; i < 1000; i++)
            {
                using var response = await http.PostAsJsonAsync("/api/channels/chat:lb/messages", new { data = i });
                response.EnsureSuccessStatusCode();
            }

            foreach (var client in clients)
            {
                var messages = await client.MessagesAsync(1000, TimeSpan.FromSeconds(30));
                Assert.Equal(Enumerable.Range(0, 1000), messages.Select(m => m.GetProperty("data").GetInt32()));
            }
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }
    }
}
