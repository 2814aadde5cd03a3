namespace Realtime.Api.Sessions;

/// <summary>
/// Follows the frame headers in the bytes a client sends, as they are read off the connection, and reports a
/// message whose declared length goes over <c>MaxFrameBytes</c> the moment its header arrives. The WebSocket
/// itself only hands a session payload bytes, so without this a client that declares a huge frame and then
/// sends nothing would hold its socket with no answer. A header the WebSocket will refuse as a protocol
/// error (reserved bits, no mask, a length with the top bit set) is left to it: that is 1002, not 1009.
/// </summary>
internal sealed class FrameLimit(int maxFrameBytes)
{
    private const byte MaskBit = 0x80, FinBit = 0x80, ReservedBits = 0x70, CompressedBit = 0x40, OpcodeBits = 0x0F, ControlBit = 0x08;

    private Action? _exceeded;
    private bool _tripped;
    private bool _pending;
    private int _headerSeen, _headerLength, _extendedLength;
    private byte _first, _second;
    private ulong _declared, _payloadLeft;
    private ulong _messageSoFar;

    public int MaxFrameBytes => maxFrameBytes;

    /// <summary>permessage-deflate was agreed: RSV1 marks the first frame of a compressed message. The limit is then on
    /// the bytes sent; the session bounds what they inflate to.</summary>
    public bool Compressed { get; set; }

    /// <summary>Runs <paramref name="exceeded"/> once, on the reading thread, when a message declares too much.</summary>
    public void OnExceeded(Action exceeded)
    {
        _exceeded = exceeded;
        if (Volatile.Read(ref _pending))
        {
            exceeded();
        }
    }

    /// <summary>Reads the bytes the WebSocket is about to parse; payload bytes are only counted.</summary>
    public void Observe(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length && !_tripped)
        {
            if (_payloadLeft > 0)
            {
                var skip = (int)Math.Min((ulong)(bytes.Length - i), _payloadLeft);
                _payloadLeft -= (ulong)skip;
                i += skip;
                continue;
            }

            ReadHeaderByte(bytes[i++]);
        }
    }

    private void ReadHeaderByte(byte value)
    {
        var index = _headerSeen++;
        if (index == 0)
        {
            _first = value;
        }
        else if (index == 1)
        {
            _second = value;
            var length = value & 0x7F;
            _extendedLength = length switch { 126 => 2, 127 => 8, _ => 0 };
            _declared = _extendedLength == 0 ? (ulong)length : 0;
            _headerLength = 2 + _extendedLength + ((value & MaskBit) != 0 ? 4 : 0);
        }
        else if (index < 2 + _extendedLength)
        {
            _declared = (_declared << 8) | value;
        }

        if (_headerSeen == _headerLength)
        {
            EndOfHeader();
        }
    }

    private void EndOfHeader()
    {
        _headerSeen = 0;
        _payloadLeft = _declared;
        var opcode = _first & OpcodeBits;
        if ((opcode & ControlBit) != 0)
        {
            return; // control frames are not part of a message, and the WebSocket bounds them at 125 bytes
        }

        var reserved = _first & ReservedBits;
        if (Compressed && opcode != 0)
        {
            reserved &= ~CompressedBit;
        }

        if (reserved != 0 || (_second & MaskBit) == 0 || _declared > long.MaxValue)
        {
            _tripped = true; // a protocol error the WebSocket answers with 1002: stop following the stream
            return;
        }

        if (opcode != 0)
        {
            _messageSoFar = 0; // a new message (text or binary); 0 continues the one in progress
        }

        if (_declared > (ulong)maxFrameBytes - Math.Min(_messageSoFar, (ulong)maxFrameBytes))
        {
            _tripped = true;
            Volatile.Write(ref _pending, true);
            _exceeded?.Invoke();
            return;
        }

        _messageSoFar = (_first & FinBit) != 0 ? 0 : _messageSoFar + _declared;
    }
}
