using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Realtime.Api.Tests.Infrastructure;

namespace Realtime.Api.Tests.Startup;

public sealed class ConfigurationTests
{
    [Theory]
    [InlineData("Realtime:Limits:MaxFrameBytes", "12", "Realtime:Limits:MaxFrameBytes")]
    [InlineData("Realtime:Silo:IdleTimeout", "00:00:00", "Realtime:Silo:IdleTimeout")]
    [InlineData("Realtime:Auth:JwtSecret", "short", "Realtime:Auth:JwtSecret")]
    [InlineData("Realtime:Auth:PublicKey", "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----", "Realtime:Auth:PublicKey")]
    [InlineData("Realtime:Auth:PublicKey", "not pem", "Realtime:Auth:PublicKey")]
    [InlineData("Realtime:Auth:Authority", "login.example.com", "Realtime:Auth:Authority")]
    [InlineData("Realtime:Auth:Authority", "http://login.example.com", "Realtime:Auth:RequireHttpsMetadata")]
    [InlineData("Realtime:Namespaces:chat:HistorySize", "-1", "Realtime:Namespaces:chat")]
    [InlineData("Realtime:NodeId", "bad node id!", "Realtime:NodeId")]
    [InlineData("Realtime:Orleans:StreamBatchSize", "0", "Realtime:Orleans:StreamBatchSize")]
    [InlineData("Realtime:Orleans:StreamQueues", "0", "Realtime:Orleans:StreamQueues")]
    [InlineData("Realtime:Compression:ServerMaxWindowBits", "8", "Realtime:Compression:ServerMaxWindowBits")]
    [InlineData("Realtime:Compression:ClientMaxWindowBits", "16", "Realtime:Compression:ClientMaxWindowBits")]
    [InlineData("Realtime:Compression:MinBytes", "-1", "Realtime:Compression:MinBytes")]
    public async Task A_bad_setting_stops_start_up_with_a_message_naming_the_key(string key, string value, string named)
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RealtimeServer.StartAsync(new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(named, failure.Message);
    }

    [Theory]
    [InlineData(null, 2)]          // the product's default: a killed silo is declared dead in seconds (SPEC §9.7)
    [InlineData("00:00:07", 7)]    // and what Realtime:Orleans:Membership sets wins over it
    public async Task Silos_probe_every_2_s_unless_Realtime_Orleans_Membership_says_otherwise(string? configured, int seconds)
    {
        var settings = new Dictionary<string, string?>();
        if (configured is not null)
        {
            settings["Realtime:Orleans:Membership:ProbeTimeout"] = configured;
        }

        await using var server = await RealtimeServer.StartAsync(settings);

        var membership = server.Services.GetRequiredService<IOptions<Orleans.Configuration.ClusterMembershipOptions>>().Value;
        Assert.Equal((TimeSpan.FromSeconds(seconds), 3), (membership.ProbeTimeout, membership.NumMissedProbesLimit));
    }

    [Fact]
    public async Task A_node_with_no_token_key_at_all_stops_start_up_naming_the_keys_to_set()
    {
        var failure = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Auth:JwtSecret"] = "",
            ["Realtime:Auth:DevTokens"] = "false",
        }));
        Assert.Contains("Realtime:Auth:JwtSecret", failure.Message);
        Assert.Contains("Realtime:Auth:Authority", failure.Message);
    }

    [Fact]
    public async Task Dev_tokens_without_a_secret_to_sign_them_stop_start_up()
    {
        var failure = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Auth:JwtSecret"] = "",
            ["Realtime:Auth:PublicKey"] = System.Security.Cryptography.RSA.Create(2048).ExportSubjectPublicKeyInfoPem(),
            ["Realtime:Auth:DevTokens"] = "true",
        }));
        Assert.Contains("Realtime:Auth:DevTokens", failure.Message);
    }

    [Fact]
    public async Task A_value_of_the_wrong_type_stops_start_up_naming_the_key()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:MaxSubscriptions"] = "lots",
        }));
        Assert.Contains("Realtime:Limits:MaxSubscriptions", failure.ToString());
    }

    [Fact]
    public async Task An_unknown_engine_stops_start_up_naming_the_key()
    {
        var failure = await Assert.ThrowsAnyAsync<Exception>(() => RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Engine"] = "redis",
        }));
        Assert.Contains("Realtime:Engine", failure.Message);
    }

    [Fact]
    public async Task Options_validation_failures_are_reported_as_such()
    {
        var failure = await Assert.ThrowsAnyAsync<OptionsValidationException>(() => RealtimeServer.StartAsync(new Dictionary<string, string?>
        {
            ["Realtime:Limits:CommandsPerSecond"] = "0",
        }));
        Assert.Contains("Realtime:Limits:CommandsPerSecond", failure.Message);
    }
}
