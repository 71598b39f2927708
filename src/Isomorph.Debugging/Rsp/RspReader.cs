namespace Isomorph.Debugging.Rsp;

/// <summary>What a byte completed on the connection from gdb.</summary>
public enum RspEventKind
{
    /// <summary>A packet with a correct checksum: acknowledge it (+) and act on it.</summary>
    Packet,
    /// <summary>A packet whose checksum is wrong (or that is too long): ask for it again (-).</summary>
    Corrupt,
    /// <summary>The interrupt byte (0x03, Ctrl-C) outside a packet.</summary>
    Interrupt,
    /// <summary>gdb asks for the last packet again (-).</summary>
    Nak,
}

public readonly record struct RspEvent(RspEventKind Kind, byte[] Payload);

/// <summary>
/// Frames the bytes gdb sends: <c>$payload#cc</c> packets (cc: the payload's byte sum modulo 256
/// in hex), with <c>}</c> escaping the next byte (XOR 0x20) and <c>*</c> run-length encoding
/// undone; acknowledgements and noise between packets are skipped. Feed it one byte at a time.
/// </summary>
public sealed class RspReader
{
    /// <summary>The longest payload accepted (gdb is told a smaller PacketSize).</summary>
    public const int MaxPayload = 1 << 20;

    private enum State { Idle, Payload, Escape, Repeat, Check1, Check2 }

    private State _state;
    private readonly List<byte> _payload = [];
    private byte _sum;
    private int _check;
    private bool _overflow;

    public RspEvent? Feed(byte b)
    {
        switch (_state)
        {
            case State.Idle:
                if (b == (byte)'$') Begin();
                else if (b == 0x03) return new RspEvent(RspEventKind.Interrupt, []);
                else if (b == (byte)'-') return new RspEvent(RspEventKind.Nak, []);
                return null; // '+', and noise
            case State.Payload:
                if (b == (byte)'#')
                {
                    _state = State.Check1;
                    return null;
                }
                if (b == (byte)'$')
                {
                    Begin(); // a packet restarted: the earlier one was cut short
                    return null;
                }
                _sum += b;
                if (b == (byte)'}') _state = State.Escape;
                else if (b == (byte)'*' && _payload.Count > 0) _state = State.Repeat;
                else Add(b);
                return null;
            case State.Escape:
                _sum += b;
                Add((byte)(b ^ 0x20));
                _state = State.Payload;
                return null;
            case State.Repeat:
                _sum += b;
                // The count byte is 29 more than the number of extra copies.
                int repeat = b - 29;
                byte last = _payload[^1];
                for (int i = 0; i < repeat; i++) Add(last);
                _state = State.Payload;
                return null;
            case State.Check1:
                _check = HexDigit(b) << 4;
                _state = State.Check2;
                return null;
            default:
                _state = State.Idle;
                int digit = HexDigit(b);
                if (_check < 0 || digit < 0 || (_check | digit) != _sum || _overflow)
                    return new RspEvent(RspEventKind.Corrupt, []);
                return new RspEvent(RspEventKind.Packet, [.. _payload]);
        }
    }

    private void Begin()
    {
        _state = State.Payload;
        _payload.Clear();
        _sum = 0;
        _overflow = false;
    }

    private void Add(byte b)
    {
        if (_payload.Count < MaxPayload) _payload.Add(b);
        else _overflow = true;
    }

    private static int HexDigit(byte b) => b switch
    {
        >= (byte)'0' and <= (byte)'9' => b - '0',
        >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
        _ => -1 << 8,
    };

    /// <summary>A payload framed for sending: escaped where needed, with its checksum.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var frame = new List<byte>(payload.Length + 4) { (byte)'$' };
        byte sum = 0;
        foreach (byte b in payload)
        {
            if (b is (byte)'$' or (byte)'#' or (byte)'}' or (byte)'*')
            {
                frame.Add((byte)'}');
                frame.Add((byte)(b ^ 0x20));
                sum += (byte)'}';
                sum += (byte)(b ^ 0x20);
            }
            else
            {
                frame.Add(b);
                sum += b;
            }
        }
        frame.Add((byte)'#');
        frame.AddRange(System.Text.Encoding.ASCII.GetBytes(sum.ToString("x2")));
        return [.. frame];
    }
}
