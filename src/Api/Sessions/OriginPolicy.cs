using Microsoft.Extensions.Options;

namespace Realtime.Api.Sessions;

/// <summary>Allowed browser origins for <c>/ws</c>, bound from <c>Realtime:AllowedOrigins</c>. "*" allows any.</summary>
public sealed class OriginOptions
{
    public const string Section = "Realtime:AllowedOrigins";

    public List<string> Origins { get; } = [];
}

/// <summary>
/// Refuses cross-site WebSocket hijacking: a request with an Origin header must come from this
/// server's own origin or one listed in <c>Realtime:AllowedOrigins</c>. Clients that send no Origin
/// (servers, apps) are not browsers and are let through; their token is what protects them.
/// </summary>
internal sealed class OriginPolicy(IOptions<OriginOptions> options)
{
    public bool Allows(HttpRequest request, out string origin)
    {
        origin = request.Headers.Origin.ToString();
        return Allows(origin, request.Host.Value);
    }

    /// <summary>Whether a request to <paramref name="host"/> with this Origin header ("" for none) may upgrade.</summary>
    public bool Allows(string origin, string? host)
    {
        if (origin.Length == 0)
        {
            return true;
        }

        foreach (var allowed in options.Value.Origins)
        {
            if (allowed == "*" || string.Equals(allowed.TrimEnd('/'), origin, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, host, StringComparison.OrdinalIgnoreCase);
    }
}
