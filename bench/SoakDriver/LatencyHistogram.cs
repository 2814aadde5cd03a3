namespace Realtime.Bench.SoakDriver;

/// <summary>
/// Delivery latencies of one sampling window in 0.1 ms buckets up to 10 s: thousands of receive loops
/// record into it with one interlocked add, and a window is read and cleared every sample.
/// </summary>
internal sealed class LatencyHistogram
{
    private const double BucketMs = 0.1;
    private readonly long[] _counts = new long[100_001];

    public void Record(double milliseconds)
    {
        var bucket = (int)Math.Clamp(milliseconds / BucketMs, 0, _counts.Length - 1);
        Interlocked.Increment(ref _counts[bucket]);
    }

    /// <summary>Count, p50, p99 and max of the window so far, and a fresh window.</summary>
    public (long Count, double P50, double P99, double Max) TakeWindow()
    {
        var counts = new long[_counts.Length];
        for (var i = 0; i < counts.Length; i++)
        {
            counts[i] = Interlocked.Exchange(ref _counts[i], 0);
        }

        var total = counts.Sum();
        if (total == 0)
        {
            return (0, double.NaN, double.NaN, double.NaN);
        }

        double At(double fraction)
        {
            var target = (long)Math.Ceiling(fraction * total);
            long seen = 0;
            for (var i = 0; i < counts.Length; i++)
            {
                if ((seen += counts[i]) >= target)
                {
                    return (i + 1) * BucketMs;
                }
            }

            return counts.Length * BucketMs;
        }

        var max = (Array.FindLastIndex(counts, c => c > 0) + 1) * BucketMs;
        return (total, At(0.50), At(0.99), max);
    }
}
