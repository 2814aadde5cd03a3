using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Realtime.Contracts.Grains;
using Realtime.Grains.Channels;
using Realtime.Grains.Users;
using Realtime.Silo;

namespace Realtime.Grains;

public static class GrainsExtensions
{
    /// <summary>Adds the silo (<see cref="SiloExtensions.AddRealtimeSilo"/>) with the channel and user grains.</summary>
    public static IHostApplicationBuilder AddRealtimeGrains(this IHostApplicationBuilder builder)
    {
        builder.AddRealtimeSilo(grains => grains
            .Add<IChannelGrain, ChannelGrain>(static (runtime, id) => new ChannelGrainReference(runtime, id))
            .Add<IUserGrain, UserGrain>(static (runtime, id) => new UserGrainReference(runtime, id)));
        builder.Services.AddOptions<NamespacesOptions>().BindSection(NamespacesOptions.Section);
        builder.Services.AddOptions<LimitsOptions>().BindSection(LimitsOptions.Section);
        builder.Services.AddSingleton<ChannelAccess>();
        return builder;
    }
}
