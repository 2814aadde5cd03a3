using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Realtime.Api.Sessions;

/// <summary>
/// A connection's pipes as the stream <see cref="System.Net.WebSockets.WebSocket.CreateFromStream(Stream, System.Net.WebSockets.WebSocketCreationOptions)"/>
/// reads and writes. A zero-byte read waits for data without consuming any, so an idle socket holds no buffer
/// (the transport below waits the same way). Disposing it, which is how the WebSocket aborts, wakes a pending
/// read (it returns end of stream) and a pending flush. A write to a connection the transport has closed fails.
/// The bytes read are shown to a <see cref="FrameLimit"/> when one is given, so an oversized frame is refused at
/// its header.
/// </summary>
internal sealed class DuplexPipeStream(IDuplexPipe pipe, FrameLimit? limit = null) : Stream
{
    private volatile bool _disposed;

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    // Pooled state machines: a socket's reads and writes that wait for the network reuse them instead of
    // allocating one per wait.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (_disposed)
        {
            return 0;
        }

        var result = await pipe.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
        var buffer = result.Buffer;
        // Empty means completed (the client went away) or cancelled by Dispose: end of stream. A zero-byte
        // read only waits: it consumes nothing and returns 0 with the data still in the pipe.
        var count = (int)Math.Min(buffer.Length, destination.Length);
        buffer.Slice(0, count).CopyTo(destination.Span);
        pipe.Input.AdvanceTo(buffer.GetPosition(count));
        limit?.Observe(destination.Span[..count]);
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var result = await pipe.Output.WriteAsync(source, cancellationToken).ConfigureAwait(false);
        if (result.IsCanceled || result.IsCompleted && _disposed)
        {
            throw new ObjectDisposedException(nameof(DuplexPipeStream));
        }

        // The transport stopped reading what is written: the connection is gone (a reset, say). Writing on would
        // succeed silently into nothing; fail the send as a socket's would.
        if (result.IsCompleted)
        {
            throw new IOException("the connection is closed");
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => pipe.Output.FlushAsync(cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            pipe.Input.CancelPendingRead();
            pipe.Output.CancelPendingFlush();
        }

        base.Dispose(disposing);
    }
}
