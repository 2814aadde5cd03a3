using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Realtime.Silo.Engines;
using Realtime.Silo.Runtime;
using Realtime.Silo.Tests.Runtime.Grains;

namespace Realtime.Silo.Tests.Runtime;

/// <summary>A real host running the silo with the test grains, as <c>AddRealtimeSilo</c> wires it.</summary>
internal sealed class TestSilo : IAsyncDisposable
{
    /// <summary>Long enough that no test sees an idle deactivation it did not ask for.</summary>
    public static readonly TimeSpan LongIdleTimeout = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan ShortIdleTimeout = TimeSpan.FromMilliseconds(200);

    private readonly IHost _host;
    private bool _stopped;

    private TestSilo(IHost host)
    {
        _host = host;
        Runtime = host.Services.GetRequiredService<GrainRuntime>();
        Grains = host.Services.GetRequiredService<IGrainFactory>();
        Probe = host.Services.GetRequiredService<GrainProbe>();
        Engine = host.Services.GetRequiredService<IRealtimeEngine>();
    }

    public GrainRuntime Runtime { get; }

    public IGrainFactory Grains { get; }

    public GrainProbe Probe { get; }

    public IRealtimeEngine Engine { get; }

    /// <param name="writtenReferences">True: <see cref="ITestGrain"/> references are <see cref="TestGrainReference"/>s
    /// (typed delegates, interleaving calls on the caller's thread); false: the reflection-based <see cref="GrainProxy"/>.</param>
    public static async Task<TestSilo> StartAsync(TimeSpan? idleTimeout = null, bool writtenReferences = false)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Realtime:Silo:IdleTimeout"] = (idleTimeout ?? LongIdleTimeout).ToString("c"),
            ["Realtime:Silo:CollectionInterval"] = "00:00:00.050",
            ["Realtime:Silo:RunJobs"] = "false",
        });
        builder.Services.AddSingleton<GrainProbe>();
        builder.AddRealtimeSilo(grains =>
        {
            if (writtenReferences)
            {
                grains.Add<ITestGrain, TestGrain>(static (runtime, id) => new TestGrainReference(runtime, id));
            }
            else
            {
                grains.Add<ITestGrain, TestGrain>();
            }

            grains
            .Add<IPinnedGrain, PinnedGrain>()
            .Add<ITimerGrain, TimerGrain>()
            .Add<IStreamGrain, StreamGrain>();
        });

        var host = builder.Build();
        await host.StartAsync();
        return new TestSilo(host);
    }

    public async Task StopAsync()
    {
        _stopped = true;
        await _host.StopAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stopped)
        {
            await StopAsync();
        }

        _host.Dispose();
    }
}
