using System.IO.Pipelines;
using System.Text;
using Realtime.Api.Sessions;

namespace Realtime.Api.Tests.Sessions;

/// <summary>
/// The stream the directly upgraded WebSocket reads and writes, over an in-memory pipe pair. Disposing it is how
/// the WebSocket aborts (a keep-alive timeout, say), so it must wake whatever is waiting.
/// </summary>
public sealed class DuplexPipeStreamTests
{
    private static (DuplexPipeStream Stream, Pipe FromClient, Pipe ToClient) Create()
    {
        var (fromClient, toClient) = (new Pipe(), new Pipe(new PipeOptions(pauseWriterThreshold: 64, resumeWriterThreshold: 32)));
        return (new DuplexPipeStream(new Duplex(fromClient.Reader, toClient.Writer)), fromClient, toClient);
    }

    [Fact]
    public async Task A_zero_byte_read_waits_for_data_and_consumes_none_of_it()
    {
        var (stream, fromClient, _) = Create();
        var waiting = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        await fromClient.Writer.WriteAsync("hello"u8.ToArray());
        Assert.Equal(0, await waiting.WaitAsync(TimeSpan.FromSeconds(5)));
        var buffer = new byte[3];
        Assert.Equal(3, await stream.ReadAsync(buffer));
        Assert.Equal("hel", Encoding.ASCII.GetString(buffer));
        Assert.Equal(2, await stream.ReadAsync(buffer));
        Assert.Equal("lo", Encoding.ASCII.GetString(buffer, 0, 2));
    }

    [Fact]
    public async Task The_client_going_away_reads_as_the_end_of_the_stream()
    {
        var (stream, fromClient, _) = Create();
        await fromClient.Writer.CompleteAsync();

        Assert.Equal(0, await stream.ReadAsync(new byte[8]));
    }

    [Fact]
    public async Task Dispose_wakes_a_pending_read_and_a_flush_stuck_on_a_client_that_does_not_read()
    {
        var (stream, _, _) = Create();
        var reading = stream.ReadAsync(Memory<byte>.Empty).AsTask();
        var writing = stream.WriteAsync(new byte[1024]).AsTask(); // over the pipe's pause threshold: the flush waits
        await Task.Delay(50);
        Assert.False(reading.IsCompleted);
        Assert.False(writing.IsCompleted);

        await stream.DisposeAsync();

        Assert.Equal(0, await reading.WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => writing.WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => stream.WriteAsync(new byte[1]).AsTask());
        Assert.Equal(0, await stream.ReadAsync(new byte[8]));
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
