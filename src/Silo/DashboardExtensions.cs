using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Dashboard;

namespace Realtime.Silo;

public static class DashboardExtensions
{
    /// <summary>The Orleans dashboard at <c>/dashboard</c>, when the silo added it (<c>Realtime:Orleans:Dashboard</c>).</summary>
    public static IEndpointRouteBuilder MapRealtimeDashboard(this IEndpointRouteBuilder app)
    {
        if (app.ServiceProvider.GetService<Enabled>() is not null)
        {
            app.MapOrleansDashboard(routePrefix: "/dashboard");
        }

        return app;
    }

    /// <summary>Registered when the silo added the dashboard.</summary>
    internal sealed class Enabled;
}
