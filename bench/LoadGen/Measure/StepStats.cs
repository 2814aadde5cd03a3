namespace Realtime.Bench.LoadGen.Measure;

/// <summary>What one step (a rate held for a while) sent and what came back. Messages carry their step
/// number, so stragglers from an earlier step never count toward a later one.</summary>
internal sealed class StepStats
{
    private long _expected;
    private long _received;
    private long _published;
    private long _acks;
    private long _errors;

    public LatencyHistogram Latency { get; } = new();

    public long Expected => Volatile.Read(ref _expected);
    public long Received => Volatile.Read(ref _received);
    public long Published => Volatile.Read(ref _published);
    public long Acks => Volatile.Read(ref _acks);
    public long Errors => Volatile.Read(ref _errors);
    public long InFlight => Expected - Received;

    public void Sent(int deliveries)
    {
        Interlocked.Increment(ref _published);
        Interlocked.Add(ref _expected, deliveries);
    }

    public void Delivered(long micros)
    {
        Interlocked.Increment(ref _received);
        Latency.Record(micros);
    }

    public void Acked(bool error)
    {
        if (error)
        {
            Interlocked.Increment(ref _errors);
        }
        else
        {
            Interlocked.Increment(ref _acks);
        }
    }
}
