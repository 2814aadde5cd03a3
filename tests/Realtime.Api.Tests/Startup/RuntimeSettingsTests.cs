using System.Text.Json;

namespace Realtime.Api.Tests.Startup;

/// <summary>
/// The thread-pool settings the node ships with (docs/configuration.md, ".NET runtime") live in the
/// runtimeconfig.json the build writes next to each program, where the runtime reads them at start.
/// </summary>
public sealed class RuntimeSettingsTests
{
    [Theory]
    [InlineData("Realtime.Api")]
    [InlineData("Realtime.Silo")]
    public void The_shipped_runtimeconfig_parks_idle_workers_and_turns_hill_climbing_off(string program)
    {
        var path = Path.Combine(AppContext.BaseDirectory, $"{program}.runtimeconfig.json");
        using var config = JsonDocument.Parse(File.ReadAllText(path));
        var options = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.Equal(0, options.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32());
        Assert.True(options.GetProperty("System.Threading.ThreadPool.HillClimbing.Disable").GetBoolean());
    }
}
