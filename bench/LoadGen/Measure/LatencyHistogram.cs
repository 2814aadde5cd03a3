using System.Numerics;

namespace Realtime.Bench.LoadGen.Measure;

/// <summary>
/// Latencies in microseconds: exact below 2,048 µs, then 256 buckets per power of two (under 0.4% error).
/// Recording is one interlocked increment, so socket threads can share one histogram.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int Linear = 2048;
    private const int SubBuckets = 256;
    private readonly long[] _counts = new long[Linear + (64 - 11) * SubBuckets];
    private long _total;
    private long _max;

    public long Count => Volatile.Read(ref _total);

    public void Record(long micros)
    {
        micros = Math.Max(0, micros);
        Interlocked.Increment(ref _counts[Index(micros)]);
        Interlocked.Increment(ref _total);
        var max = Volatile.Read(ref _max);
        while (micros > max && Interlocked.CompareExchange(ref _max, micros, max) != max)
        {
            max = Volatile.Read(ref _max);
        }
    }

    /// <summary>The value at <paramref name="quantile"/> (0..1) in milliseconds, or NaN when empty.</summary>
    public double Percentile(double quantile)
    {
        var total = Count;
        if (total == 0)
        {
            return double.NaN;
        }

        var rank = (long)Math.Ceiling(quantile * total);
        long seen = 0;
        for (var i = 0; i < _counts.Length; i++)
        {
            seen += Volatile.Read(ref _counts[i]);
            if (seen >= rank)
            {
                return Math.Min(UpperBound(i), Volatile.Read(ref _max)) / 1000.0;
            }
        }

        return Volatile.Read(ref _max) / 1000.0;
    }

    public double MaxMs => Volatile.Read(ref _max) / 1000.0;

    private static int Index(long v)
    {
        if (v < Linear)
        {
            return (int)v;
        }

        var exponent = 63 - BitOperations.LeadingZeroCount((ulong)v); // >= 11
        var shift = exponent - 8;
        return Linear + (exponent - 11) * SubBuckets + (int)((v >> shift) - SubBuckets);
    }

    private static long UpperBound(int index)
    {
        if (index < Linear)
        {
            return index;
        }

        var exponent = (index - Linear) / SubBuckets + 11;
        var sub = (index - Linear) % SubBuckets + SubBuckets;
        return ((long)(sub + 1) << (exponent - 8)) - 1;
    }
}
