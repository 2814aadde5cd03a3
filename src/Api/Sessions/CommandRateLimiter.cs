using System.Diagnostics;

namespace Realtime.Api.Sessions;

/// <summary>
/// A per-connection token bucket: <c>burst</c> commands at once, refilled at <c>perSecond</c>.
/// A struct of three fields rather than System.Threading.RateLimiting's limiter, which costs an
/// object and a timer per connection at 50k connections a node.
/// </summary>
internal struct CommandRateLimiter(int perSecond, int burst)
{
    private double _tokens = burst;
    private long _lastRefill = Stopwatch.GetTimestamp();

    /// <summary>Takes <paramref name="cost"/> tokens if there are that many.</summary>
    public bool TryTake(double cost = 1)
    {
        var now = Stopwatch.GetTimestamp();
        _tokens = Math.Min(burst, _tokens + (Stopwatch.GetElapsedTime(_lastRefill, now).TotalSeconds * perSecond));
        _lastRefill = now;
        if (_tokens < cost)
        {
            return false;
        }

        _tokens -= cost;
        return true;
    }
}
