using System.Net.Sockets;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging;
using Realtime.Api.Tests.Infrastructure;
using Realtime.Api.Tests.Reliability;
using Xunit.Abstractions;

namespace Realtime.Api.Tests.Protocol;

/// <summary>
/// The WebSocket framing layer under random bytes over raw TCP, below anything a WebSocket library
/// would let a client send: headers with any bits, opcodes and (lying) lengths, masked or not, then the
/// client's half of the connection ends. Whatever arrives, the connection ends in bounded time, never
/// with 1011 (an exception the session did not expect), the node logs no error, keeps serving others,
/// and holds nothing of the connection afterwards.
/// </summary>
[Collection(MeasuredCollection.Name)] // it measures the test process's heap
public sealed class RawFrameProperties(ITestOutputHelper output)
{
    private const int Cases = 250;

    private static readonly Gen<byte[]> Payload = Gen.OneOf(
        ArbMap.Default.GeneratorFor<byte[]>(),
        Gen.Elements("""{"id":1,"type":"ping"}""", """{"id":2,"type":"subscribe","channel":"chat:a"}""", "{", "\u00e9\u00e8", "")
            .Select(Encoding.UTF8.GetBytes),
        Gen.Choose(126, 70_000).Select(n => new byte[n]));

    /// <summary>One frame, any header: FIN, RSV bits, opcode, mask bit and a length that may lie about the payload.</summary>
    private static readonly Gen<byte[]> Frame =
        from fin in Gen.Elements(true, false)
        from reserved in Gen.Frequency((6, Gen.Constant((byte)0)), (1, Gen.Elements((byte)0x40, (byte)0x20, (byte)0x10)))
        from opcode in Gen.Frequency((6, Gen.Elements((byte)0x0, (byte)0x1, (byte)0x2, (byte)0x9, (byte)0xA)), (1, Gen.Choose(0, 15).Select(o => (byte)o)))
        from masked in Gen.Frequency((6, Gen.Constant(true)), (1, Gen.Constant(false)))
        from payload in Payload
        from lie in Gen.Frequency(
            (6, Gen.Constant<ulong?>(null)),
            (1, Gen.Elements<ulong?>(0, 125, 126, 65_535, 65_536, 1UL << 32, ulong.MaxValue >> 1, ulong.MaxValue)))
        select Write(fin, reserved, opcode, masked, payload, lie);

    /// <summary>What one connection sends after its upgrade: frames, raw noise, or both.</summary>
    private static readonly Gen<byte[]> Input = Gen.Frequency(
        (5, Gen.ListOf(Frame).Select(frames => frames.Take(4).SelectMany(f => f).ToArray())),
        (2, ArbMap.Default.GeneratorFor<byte[]>()),
        (1, Frame.SelectMany(f => ArbMap.Default.GeneratorFor<byte[]>().Select(noise => f.Concat(noise).ToArray()))));

    // A [Fact] over a sample rather than an FsCheck [Property]: one node takes every case and is judged on what
    // they left behind together (error logs, the heap), which a property checking each case alone cannot see.
    [Fact]
    public async Task Random_bytes_after_the_upgrade_end_the_connection_without_an_internal_error_and_release_it()
    {
        var seed = Random.Shared.Next();
        output.WriteLine($"seed {seed}: replay by fixing it here");
        var inputs = Input.Sample(Cases, new Rnd((ulong)seed), 40).ToArray();
        var logs = new LogCapture();
        await using var server = await RealtimeServer.StartAsync(services: s => s.AddSingleton<ILoggerProvider>(logs));
        await Witness.AssertNodeServesOthersAsync(server); // warm up before the memory baseline
        var heapBefore = ManagedHeap.LiveBytes();

        var endings = new List<int?>();
        foreach (var bytes in inputs)
        {
            await using var raw = await RawWebSocket.ConnectAsync(server.WebSocketUri, $"/ws?token={RealtimeServer.Token("fuzz")}");
            var ending = RawFrames.ReadUntilClosedAsync(raw, TimeSpan.FromSeconds(20));
            try
            {
                await raw.Stream.WriteAsync(bytes);
                raw.Stream.Socket.Shutdown(SocketShutdown.Send); // the client is done: the server must not wait for the rest of a lying frame
            }
            catch (IOException)
            {
                // the server closed first
            }

            var end = await ending;
            Assert.True(end.ConnectionClosed, $"the connection was still open 20 s after {Witness.Show(bytes)}");
            Assert.True(end.CloseCode != 1011, $"{Witness.Show(bytes)} ended in an internal error (1011)");
            endings.Add(end.CloseCode);
        }

        output.WriteLine(string.Join(", ", endings.GroupBy(c => c).OrderBy(g => g.Key).Select(g => $"{g.Key?.ToString() ?? "no close frame"}×{g.Count()}")));
        await Witness.AssertNodeUnharmedAsync(server, logs, heapBefore, $"{Cases} connections");
    }

    private static byte[] Write(bool fin, byte reserved, byte opcode, bool masked, byte[] payload, ulong? declared)
    {
        var key = RawFrames.NewMaskKey();
        var header = RawFrames.Header(opcode, declared ?? (ulong)payload.Length, fin, key, reserved);
        if (!masked)
        {
            header[1] &= 0x7F;
            header = header[..^4]; // no mask bit, no key
        }

        return [.. header, .. masked ? RawFrames.Mask(payload, key) : payload];
    }
}
