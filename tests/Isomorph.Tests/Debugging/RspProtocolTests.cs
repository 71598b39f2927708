using System.Net;
using System.Net.Sockets;
using System.Text;
using Isomorph.Debugging.Rsp;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Debugging;

/// <summary>
/// The remote protocol byte by byte: framing, checksums, escaping and run-length encoding in
/// <see cref="RspReader"/>, and a live stub (<c>isomorph run -g</c>) answering malformed packets
/// with an error or the empty reply, never falling over; the 0x03 interrupt on a raw socket.
/// </summary>
public sealed class RspProtocolTests
{
    private static List<RspEvent> Feed(RspReader reader, string bytes) =>
        [.. Encoding.Latin1.GetBytes(bytes).Select(reader.Feed).Where(e => e is not null).Select(e => e!.Value)];

    private static string Framed(string payload) => Encoding.Latin1.GetString(RspReader.Frame(Encoding.Latin1.GetBytes(payload)));

    [Fact]
    public void FramesChecksumsEscapesAndRunLengths()
    {
        var reader = new RspReader();
        Assert.Equal("$g#67", Framed("g"));
        Assert.StartsWith("$}]}\u0003}\u0004}\n#", Framed("}#$*")); // each of } # $ * escaped as } and the byte XOR 0x20

        var events = Feed(reader, "+$g#67-\u0003$m10,4#xx$qC#b4");
        Assert.Equal([RspEventKind.Packet, RspEventKind.Nak, RspEventKind.Interrupt, RspEventKind.Corrupt, RspEventKind.Packet], events.Select(e => e.Kind));
        Assert.Equal("g", Encoding.Latin1.GetString(events[0].Payload));
        Assert.Equal("qC", Encoding.Latin1.GetString(events[4].Payload));

        // An escaped '#' inside a payload, and "0* " (a run: '0' and 3 more copies, ' ' being 29 + 3).
        var framed = Framed("X1,1:#");
        var escaped = Feed(reader, framed);
        Assert.Equal("X1,1:#", Encoding.Latin1.GetString(escaped.Single().Payload));
        string rle = "0* ";
        byte sum = 0;
        foreach (char c in rle) sum += (byte)c;
        Assert.Equal("0000", Encoding.Latin1.GetString(Feed(reader, $"${rle}#{sum:x2}").Single().Payload));

        // Round trip of every byte value.
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        var back = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(RspReader.Frame(all))).Select(reader.Feed).Last(e => e is not null)!.Value;
        Assert.Equal(all, back.Payload);

        // A packet cut short by a new '$' is dropped; an over-long one is corrupt, and the reader recovers.
        Assert.Equal("qC", Encoding.Latin1.GetString(Feed(reader, "$garbage$qC#b4").Single().Payload));
        var huge = Feed(reader, "$" + new string('a', RspReader.MaxPayload + 10) + "#00" + "$qC#b4");
        Assert.Equal([RspEventKind.Corrupt, RspEventKind.Packet], huge.Select(e => e.Kind));
    }

    /// <summary>A client that speaks the protocol with acknowledgements, over TCP.</summary>
    private sealed class RawClient : IDisposable
    {
        private readonly Socket _socket;
        private readonly RspReader _reader = new();

        public RawClient(int port)
        {
            _socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveTimeout = 20000 };
            _socket.Connect(new IPEndPoint(IPAddress.Loopback, port));
        }

        public void SendRaw(string bytes) => _socket.Send(Encoding.Latin1.GetBytes(bytes));

        /// <summary>The next acknowledgement ('+' or '-').</summary>
        public char Ack()
        {
            var b = new byte[1];
            while (_socket.Receive(b) == 1)
                if (b[0] is (byte)'+' or (byte)'-') return (char)b[0];
            throw new IOException("connection closed");
        }

        public string Reply()
        {
            var b = new byte[1];
            while (_socket.Receive(b) == 1)
                if (_reader.Feed(b[0]) is { Kind: RspEventKind.Packet } e)
                {
                    SendRaw("+");
                    return Encoding.Latin1.GetString(e.Payload);
                }
            throw new IOException("connection closed");
        }

        public string Ask(string payload)
        {
            SendRaw(Framed(payload));
            Assert.Equal('+', Ack());
            return Reply();
        }

        public void Dispose() => _socket.Dispose();
    }

    [Fact] // no gdb needed: the client is this test
    public void MalformedPacketsGetErrorsAndTheInterruptByteStops()
    {
        int port = GdbHarness.FreePort();
        using var server = new IsomorphProcess("run", "-g", port.ToString(), GdbHarness.Debuggee, "spin");
        try
        {
            GdbHarness.WaitForListener(port, server);
            using var gdb = new RawClient(port);
            Assert.Contains("PacketSize=", gdb.Ask("qSupported:swbreak+;hwbreak+"));
            Assert.StartsWith("T05thread:", gdb.Ask("?"));
            gdb.SendRaw("$g#00");
            Assert.Equal('-', gdb.Ack()); // a wrong checksum is refused
            string registers = gdb.Ask("g");
            Assert.Equal(65 * 16, registers.Length);
            ulong sp = BitConverter.ToUInt64(Convert.FromHexString(registers.AsSpan(2 * 16, 16)));

            Assert.Equal("E14", gdb.Ask("m0,8"));           // unmapped memory
            Assert.Equal("E01", gdb.Ask("mzz,4"));
            Assert.Equal("E01", gdb.Ask("m10000"));
            Assert.Equal("E01", gdb.Ask("m10000,ffffffffffff"));
            Assert.Equal("E01", gdb.Ask("p1000"));           // no such register
            Assert.Equal("E01", gdb.Ask("pzz"));
            Assert.Equal("E01", gdb.Ask("P1=zz"));
            Assert.Equal("E01", gdb.Ask("G123"));
            Assert.Equal("E01", gdb.Ask($"X{sp - 8:x},4:ab"));
            Assert.Equal("E01", gdb.Ask("Z2,1000,0"));
            Assert.Equal("E01", gdb.Ask("Hgzz"));
            Assert.Equal("E01", gdb.Ask("T7fffffff"));
            Assert.Equal("", gdb.Ask("Z9,1000,4"));
            Assert.Equal("", gdb.Ask("vMustReplyEmpty"));
            Assert.Equal("", gdb.Ask("qNoSuchQuery"));
            Assert.Equal("", gdb.Ask("!"));
            Assert.Equal("E01", gdb.Ask("qRcmd,zz"));
            Assert.Equal("E00", gdb.Ask("qXfer:features:read:other.xml:0,100"));

            // Binary writes with escaped bytes: '}' and '#' land in memory as themselves.
            Assert.Equal("OK", gdb.Ask($"X{sp - 8:x},2:}}#"));
            Assert.Equal("7d23", gdb.Ask($"m{sp - 8:x},2"));
            Assert.Equal("OK", gdb.Ask($"M{sp - 8:x},2:0102"));
            Assert.Equal("0102", gdb.Ask($"m{sp - 8:x},2"));
            Assert.StartsWith("l<?xml", gdb.Ask("qXfer:features:read:target.xml:0,4000"));
            Assert.StartsWith("m", gdb.Ask("qfThreadInfo"));

            // Continue, then the interrupt byte: the spinning guest stops with SIGINT.
            gdb.SendRaw(Framed("c"));
            Assert.Equal('+', gdb.Ack());
            Thread.Sleep(300);
            gdb.SendRaw("\u0003");
            Assert.StartsWith("T02thread:", gdb.Reply());
            gdb.SendRaw(Framed("k"));
            Assert.Equal(137, server.WaitForExit(TimeSpan.FromSeconds(10)));
        }
        finally
        {
            server.Dispose();
        }
    }
}
