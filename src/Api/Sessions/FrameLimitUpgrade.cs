using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Realtime.Grains;

namespace Realtime.Api.Sessions;

/// <summary>
/// Hands ASP.NET Core's WebSocket middleware an upgrade whose stream passes through a <see cref="FrameLimit"/>,
/// so a socket opened on the framework's path gets 1009 at an oversized header as one opened by
/// <see cref="DirectUpgrade"/> does. It must run before <c>UseWebSockets</c>, which takes the upgrade feature
/// it finds when the request arrives.
/// </summary>
internal sealed class FrameLimitUpgrade(IHttpUpgradeFeature inner, int maxFrameBytes) : IHttpUpgradeFeature
{
    public FrameLimit Limit { get; } = new(maxFrameBytes);

    public bool IsUpgradableRequest => inner.IsUpgradableRequest;

    public async Task<Stream> UpgradeAsync() => new FrameLimitStream(await inner.UpgradeAsync().ConfigureAwait(false), Limit);

    /// <summary>Middleware: wraps the upgrade feature of requests to <c>/ws</c>.</summary>
    public static Task WrapAsync(HttpContext context, RequestDelegate next)
    {
        if (context.Request.Path == "/ws" && context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgrade)
        {
            var limits = context.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
            context.Features.Set<IHttpUpgradeFeature>(new FrameLimitUpgrade(upgrade, limits.MaxFrameBytes));
        }

        return next(context);
    }
}
