using System.Collections.Concurrent;
using System.Text;
using Isomorph.Debugging.Rsp;
using Isomorph.Riscv;

namespace Isomorph.Debugging;

/// <summary>
/// The GDB Remote Serial Protocol server for one debugger connection: it reads packets, answers
/// queries from the <see cref="IDebugTarget"/> and the harts, and drives the target through
/// <see cref="ExecutionControl"/> (all-stop). Unknown packets get the empty reply; malformed ones
/// get an error (E01), never an exception.
/// </summary>
public sealed class GdbStub
{
    /// <summary>The largest packet gdb may send us (told in qSupported, in hex there).</summary>
    public const int PacketSize = 0x4000;

    private readonly ExecutionControl _control;
    private readonly IDebugTarget _target;
    private readonly Stream _stream;
    private readonly TextWriter? _log;
    private readonly object _writeLock = new();
    private readonly BlockingCollection<byte[]> _packets = new();
    private bool _noAck;
    private byte[] _lastSent = [];
    private volatile bool _closed;
    private bool _swbreak, _hwbreak;
    /// <summary>The thread that g, p, m and friends act on (Hg), 0 for any.</summary>
    private int _generalThread;

    public GdbStub(ExecutionControl control, IDebugTarget target, Stream stream, TextWriter? log = null)
    {
        _control = control;
        _target = target;
        _stream = stream;
        _log = log;
    }

    /// <summary>Serves the connection until gdb detaches, kills, disconnects, or the program ends and that has been reported.</summary>
    public void Serve()
    {
        // gdb attaching to a running target stops it, as QEMU's stub does.
        _control.BeginSession();
        _control.Report(new StopEvent(StopKind.Signal, null, StopEvent.Sigtrap));
        var reader = new Thread(ReadLoop) { IsBackground = true, Name = "gdb stub reader" };
        reader.Start();
        try
        {
            while (true)
            {
                byte[] packet;
                try
                {
                    packet = _packets.Take();
                }
                catch (InvalidOperationException)
                {
                    break; // the connection is gone
                }
                if (!Handle(packet)) break;
            }
        }
        finally
        {
            _closed = true;
            if (_control.CurrentStop?.Kind is not (StopKind.Exited or StopKind.Terminated)) _control.Release();
            try { _stream.Close(); } catch (IOException) { }
        }
    }

    private void ReadLoop()
    {
        var rsp = new RspReader();
        var buffer = new byte[4096];
        try
        {
            int n;
            while (!_closed && (n = _stream.Read(buffer)) > 0)
            {
                for (int i = 0; i < n; i++)
                {
                    if (rsp.Feed(buffer[i]) is not { } e) continue;
                    switch (e.Kind)
                    {
                        case RspEventKind.Packet:
                            if (!_noAck) WriteRaw("+"u8);
                            _packets.Add(e.Payload);
                            break;
                        case RspEventKind.Corrupt:
                            if (!_noAck) WriteRaw("-"u8);
                            break;
                        case RspEventKind.Nak:
                            if (!_noAck) WriteRaw(_lastSent);
                            break;
                        case RspEventKind.Interrupt:
                            _control.Interrupt();
                            break;
                    }
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException) { }
        finally
        {
            _packets.CompleteAdding();
        }
    }

    private void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        lock (_writeLock)
        {
            try
            {
                _stream.Write(bytes);
                _stream.Flush();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException) { }
        }
    }

    private void Send(string payload) => Send(Encoding.Latin1.GetBytes(payload));

    private void Send(byte[] payload)
    {
        var frame = RspReader.Frame(payload);
        _log?.WriteLine($"gdb <- {Encoding.Latin1.GetString(payload)}");
        lock (_writeLock) _lastSent = frame;
        WriteRaw(frame);
    }

    /// <summary>Acts on one packet; false when the session is over.</summary>
    private bool Handle(byte[] raw)
    {
        string p = Encoding.Latin1.GetString(raw);
        _log?.WriteLine($"gdb -> {p}");
        try
        {
            return Dispatch(p, raw);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A packet the parsing above did not foresee: an error reply, never the VM's end.
            _log?.WriteLine($"gdb stub: {p}: {e.GetType().Name}: {e.Message}");
            Send("E01");
            return true;
        }
    }

    private bool Dispatch(string p, byte[] raw)
    {
        if (p.Length == 0)
        {
            Send("");
            return true;
        }
        switch (p[0])
        {
            case '?':
                Send(StopReply(_control.WaitForStop(TimeSpan.FromSeconds(1))!));
                return true;
            case 'g':
                Send(ReadAllRegisters());
                return true;
            case 'G':
                Send(WriteAllRegisters(p[1..]) ? "OK" : "E01");
                return true;
            case 'p':
                Send(ReadRegister(p[1..]));
                return true;
            case 'P':
                Send(WriteRegister(p[1..]));
                return true;
            case 'm':
                Send(ReadMemory(p[1..]));
                return true;
            case 'M':
                Send(WriteMemoryHex(p[1..]));
                return true;
            case 'X':
                Send(WriteMemoryBinary(raw));
                return true;
            case 'c' or 's':
                if (p.Length > 1 && !SetPc(p[1..])) { Send("E01"); return true; }
                return Resume(p[0] == 's' ? [(ResumeAction.Step, CurrentHart)] : [], ResumeAction.Continue);
            case 'C' or 'S':
                // The signal is not delivered to the guest (as qemu's system mode); an address may follow it.
                int semicolon = p.IndexOf(';');
                if (semicolon > 0 && !SetPc(p[(semicolon + 1)..])) { Send("E01"); return true; }
                if (!Hex.TryParseNumber(semicolon > 0 ? p[1..semicolon] : p[1..], out ulong signal)) { Send("E01"); return true; }
                return Resume(p[0] == 'S' ? [(ResumeAction.Step, CurrentHart)] : [], ResumeAction.Continue,
                    new Dictionary<Hart, int> { [CurrentHart] = (int)Math.Min(signal, 64) });
            case 'H':
                Send(SetThread(p));
                return true;
            case 'T':
                Send(FindThread(p[1..]) is not null ? "OK" : "E01");
                return true;
            case 'Z' or 'z':
                Send(Breakpoint(p[0] == 'Z', p[1..]));
                return true;
            case 'k':
                _target.Kill();
                _control.Release();
                return false;
            case 'D':
                Send("OK");
                _control.Release();
                return false;
            case 'Q' when p == "QStartNoAckMode":
                Send("OK");
                _noAck = true;
                return true;
            case 'q' or 'Q':
                Send(Query(p));
                return true;
            case 'v':
                return VPacket(p);
            default:
                Send("");
                return true;
        }
    }

    // --- Threads ------------------------------------------------------------------------------

    private IReadOnlyList<DebugThread> Threads => _target.Threads;

    private DebugThread? FindThread(string id)
    {
        if (!TryParseThreadId(id, out int tid)) return null;
        var threads = Threads;
        if (tid is 0 or -1) return threads.Count > 0 ? threads[0] : null;
        return threads.FirstOrDefault(t => t.Id == tid);
    }

    private static bool TryParseThreadId(string text, out int id)
    {
        id = 0;
        if (text.StartsWith('p')) text = text.Contains('.') ? text[(text.IndexOf('.') + 1)..] : "-1"; // multiprocess form pPID.TID
        if (text == "-1") { id = -1; return true; }
        if (!Hex.TryParseNumber(text, out ulong v) || v > int.MaxValue) return false;
        id = (int)v;
        return true;
    }

    /// <summary>The thread registers and memory are read from: Hg's, else the one that stopped, else the first.</summary>
    private DebugThread? CurrentThread
    {
        get
        {
            var threads = Threads;
            if (_generalThread > 0 && threads.FirstOrDefault(t => t.Id == _generalThread) is { } chosen) return chosen;
            if (_control.CurrentStop?.Hart is { } hart && threads.FirstOrDefault(t => t.Hart == hart) is { } stopped) return stopped;
            return threads.Count > 0 ? threads[0] : null;
        }
    }

    private Hart CurrentHart => CurrentThread?.Hart ?? throw new ArgumentException("no thread");

    private string SetThread(string p)
    {
        if (p.Length < 2) return "E01";
        if (!TryParseThreadId(p[2..], out int tid)) return "E01";
        if (tid > 0 && Threads.All(t => t.Id != tid)) return "E01";
        if (p[1] == 'g') _generalThread = Math.Max(tid, 0);
        return "OK";
    }

    private string StopReply(StopEvent stop)
    {
        switch (stop.Kind)
        {
            case StopKind.Exited: return $"W{stop.Code:x2}";
            case StopKind.Terminated: return $"X{stop.Code:x2}";
        }
        var threads = Threads;
        var thread = (stop.Hart is { } h ? threads.FirstOrDefault(t => t.Hart == h) : null) ?? (threads.Count > 0 ? threads[0] : null);
        if (stop.Hart is not null && thread is not null) _generalThread = 0;
        var reply = new StringBuilder($"T{stop.Code:x2}");
        if (thread is not null) reply.Append($"thread:{thread.Id:x};");
        switch (stop.Kind)
        {
            case StopKind.SoftwareBreakpoint when _swbreak: reply.Append("swbreak:;"); break;
            case StopKind.HardwareBreakpoint when _hwbreak: reply.Append("hwbreak:;"); break;
            case StopKind.WriteWatchpoint: reply.Append($"watch:{stop.Address:x};"); break;
            case StopKind.ReadWatchpoint: reply.Append($"rwatch:{stop.Address:x};"); break;
            case StopKind.AccessWatchpoint: reply.Append($"awatch:{stop.Address:x};"); break;
        }
        return reply.ToString();
    }

    // --- Registers ------------------------------------------------------------------------------

    private string ReadAllRegisters()
    {
        var hart = CurrentHart;
        var text = new StringBuilder(Registers.GPacketCount * 16);
        for (int i = 0; i < Registers.GPacketCount; i++)
        {
            Registers.TryRead(hart, i, out ulong v);
            text.Append(Hex.LittleEndian(v));
        }
        return text.ToString();
    }

    private bool WriteAllRegisters(string data)
    {
        var hart = CurrentHart;
        if (data.Length == 0 || data.Length % 16 != 0) return false;
        int count = Math.Min(data.Length / 16, Registers.GPacketCount);
        for (int i = 0; i < count; i++)
        {
            if (!Hex.TryParseLittleEndian(data.AsSpan(i * 16, 16), out ulong v)) return false;
            Registers.TryWrite(hart, i, v);
        }
        return true;
    }

    private string ReadRegister(string args)
    {
        if (!Hex.TryParseNumber(args, out ulong n) || n > int.MaxValue) return "E01";
        return Registers.TryRead(CurrentHart, (int)n, out ulong v) ? Hex.LittleEndian(v) : "E01";
    }

    private string WriteRegister(string args)
    {
        int eq = args.IndexOf('=');
        if (eq < 0 || !Hex.TryParseNumber(args.AsSpan(0, eq), out ulong n) || n > int.MaxValue
            || !Hex.TryParseLittleEndian(args.AsSpan(eq + 1), out ulong v)) return "E01";
        return Registers.TryWrite(CurrentHart, (int)n, v) ? "OK" : "E01";
    }

    private bool SetPc(string address)
    {
        if (!Hex.TryParseNumber(address, out ulong pc)) return false;
        CurrentHart.Pc = pc;
        return true;
    }

    // --- Memory ---------------------------------------------------------------------------------

    private static bool TryParseRange(ReadOnlySpan<char> text, out ulong address, out int length)
    {
        address = 0;
        length = 0;
        int comma = text.IndexOf(',');
        if (comma < 0 || !Hex.TryParseNumber(text[..comma], out address) || !Hex.TryParseNumber(text[(comma + 1)..], out ulong len)) return false;
        if (len > PacketSize) return false;
        length = (int)len;
        return true;
    }

    private string ReadMemory(string args)
    {
        if (!TryParseRange(args, out ulong address, out int length)) return "E01";
        var buffer = new byte[length];
        // As gdb expects: what can be read from the start, or E14 when not even the first byte.
        if (_target.ReadMemory(CurrentHart, address, buffer)) return Hex.Bytes(buffer);
        int readable = 0;
        while (readable < length && _target.ReadMemory(CurrentHart, address + (ulong)readable, buffer.AsSpan(readable, 1))) readable++;
        return readable == 0 ? "E14" : Hex.Bytes(buffer.AsSpan(0, readable));
    }

    private string WriteMemoryHex(string args)
    {
        int colon = args.IndexOf(':');
        if (colon < 0 || !TryParseRange(args.AsSpan(0, colon), out ulong address, out int length)
            || !Hex.TryParseBytes(args.AsSpan(colon + 1), out var data) || data.Length != length) return "E01";
        return _target.WriteMemory(CurrentHart, address, data) ? "OK" : "E14";
    }

    private string WriteMemoryBinary(byte[] raw)
    {
        int colon = Array.IndexOf(raw, (byte)':');
        if (colon < 0 || !TryParseRange(Encoding.Latin1.GetString(raw, 1, colon - 1), out ulong address, out int length)
            || raw.Length - colon - 1 != length) return "E01";
        if (length == 0) return "OK"; // gdb probes X support with an empty write
        return _target.WriteMemory(CurrentHart, address, raw.AsSpan(colon + 1)) ? "OK" : "E14";
    }

    // --- Breakpoints and watchpoints -------------------------------------------------------------

    private string Breakpoint(bool insert, string args)
    {
        var parts = args.Split(';')[0].Split(',');
        if (parts.Length < 3 || !Hex.TryParseNumber(parts[1], out ulong address) || !Hex.TryParseNumber(parts[2], out ulong kind)) return "E01";
        switch (parts[0])
        {
            case "0" or "1":
                var type = parts[0] == "0" ? BreakpointKind.Software : BreakpointKind.Hardware;
                return (insert ? _control.InsertBreakpoint(address, type) : _control.RemoveBreakpoint(address)) ? "OK" : "E01";
            case "2" or "3" or "4":
                if (kind is 0 or > 1 << 20) return "E01";
                var watch = new Watchpoint(address, kind, parts[0] switch { "2" => WatchKind.Write, "3" => WatchKind.Read, _ => WatchKind.Access });
                return (insert ? _control.InsertWatchpoint(watch) : _control.RemoveWatchpoint(watch)) ? "OK" : "E01";
            default:
                return "";
        }
    }

    // --- Running --------------------------------------------------------------------------------

    /// <summary>Resumes the target and reports its next stop; false when that stop is its end.</summary>
    private bool Resume(List<(ResumeAction Action, Hart Hart)> actions, ResumeAction otherwise, Dictionary<Hart, int>? signals = null)
    {
        var map = new Dictionary<Hart, ResumeAction>();
        foreach (var (action, hart) in actions) map[hart] = action;
        if (_control.CurrentStop?.Kind is StopKind.Exited or StopKind.Terminated)
        {
            Send(StopReply(_control.CurrentStop));
            return false;
        }
        _control.Resume(map, otherwise, signals);
        var stop = _control.WaitForStop(TimeSpan.FromSeconds(1), () => _packets.IsCompleted);
        if (stop is null) return false;
        Send(StopReply(stop));
        return stop.Kind is not (StopKind.Exited or StopKind.Terminated);
    }

    private bool VPacket(string p)
    {
        if (p == "vCont?")
        {
            Send("vCont;c;C;s;S");
            return true;
        }
        if (p.StartsWith("vCont;", StringComparison.Ordinal))
        {
            var actions = new List<(ResumeAction, Hart)>();
            var signals = new Dictionary<Hart, int>();
            var otherwise = ResumeAction.Stay;
            foreach (var item in p[6..].Split(';'))
            {
                if (item.Length == 0) { Send("E01"); return true; }
                int colon = item.IndexOf(':');
                string verb = colon < 0 ? item : item[..colon];
                var action = verb[0] switch { 'c' or 'C' => ResumeAction.Continue, 's' or 'S' => ResumeAction.Step, _ => (ResumeAction?)null };
                if (action is null) { Send("E01"); return true; }
                if (colon < 0 || item[(colon + 1)..] == "-1")
                {
                    if (otherwise == ResumeAction.Stay) otherwise = action.Value;
                }
                else if (FindThread(item[(colon + 1)..]) is { } thread)
                {
                    if (actions.Any(a => a.Item2 == thread.Hart)) continue;
                    actions.Add((action.Value, thread.Hart));
                    if (verb[0] is 'C' or 'S' && Hex.TryParseNumber(verb.AsSpan(1), out ulong signal)) signals[thread.Hart] = (int)Math.Min(signal, 64);
                }
            }
            return Resume(actions, otherwise, signals);
        }
        if (p.StartsWith("vKill", StringComparison.Ordinal))
        {
            _target.Kill();
            _control.Release();
            Send("OK");
            return false;
        }
        Send(""); // vMustReplyEmpty and everything else
        return true;
    }

    // --- Queries --------------------------------------------------------------------------------

    private string Query(string p)
    {
        if (p.StartsWith("qSupported", StringComparison.Ordinal))
        {
            _swbreak = p.Contains("swbreak+");
            _hwbreak = p.Contains("hwbreak+");
            return $"PacketSize={PacketSize:x};qXfer:features:read+;qXfer:threads:read+;QStartNoAckMode+;vContSupported+"
                + (_target.AuxiliaryVector is null ? "" : ";qXfer:auxv:read+")
                + (_swbreak ? ";swbreak+" : "") + (_hwbreak ? ";hwbreak+" : "");
        }
        if (p == "qAttached" || p.StartsWith("qAttached:", StringComparison.Ordinal)) return "1";
        if (p == "qC") return CurrentThread is { } t ? $"QC{t.Id:x}" : "";
        if (p == "qfThreadInfo") return "m" + string.Join(",", Threads.Select(t => t.Id.ToString("x")));
        if (p == "qsThreadInfo") return "l";
        if (p.StartsWith("qXfer:features:read:", StringComparison.Ordinal))
        {
            var rest = p["qXfer:features:read:".Length..];
            int colon = rest.IndexOf(':');
            if (colon < 0) return "E01";
            if (rest[..colon] != "target.xml") return "E00";
            return Transfer(Registers.TargetXml(_target.IsMachine ? Threads[0].Hart : null), rest[(colon + 1)..]);
        }
        if (p.StartsWith("qXfer:auxv:read::", StringComparison.Ordinal))
            return _target.AuxiliaryVector is { } auxv ? Transfer(auxv, p["qXfer:auxv:read::".Length..]) : "E00";
        if (p.StartsWith("qXfer:threads:read::", StringComparison.Ordinal))
        {
            var xml = new StringBuilder("<?xml version=\"1.0\"?>\n<threads>\n");
            foreach (var t in Threads)
                xml.Append($"<thread id=\"{t.Id:x}\" name=\"{System.Security.SecurityElement.Escape(t.Name)}\"/>\n");
            xml.Append("</threads>\n");
            return Transfer(xml.ToString(), p["qXfer:threads:read::".Length..]);
        }
        if (p.StartsWith("qThreadExtraInfo,", StringComparison.Ordinal))
            return FindThread(p["qThreadExtraInfo,".Length..]) is { } t2 ? Hex.Text(t2.Name) : "E01";
        if (p.StartsWith("qRcmd,", StringComparison.Ordinal))
        {
            if (!Hex.TryParseBytes(p.AsSpan(6), out var bytes)) return "E01";
            string output = MonitorCommand(Encoding.UTF8.GetString(bytes).Trim());
            foreach (var chunk in output.Chunk(PacketSize / 4)) Send("O" + Hex.Text(new string(chunk)));
            return "OK";
        }
        return "";
    }

    /// <summary>A qXfer answer: "m" and a piece of <paramref name="document"/> at OFFSET,LENGTH, or "l" and the last piece.</summary>
    private static string Transfer(string document, string range) => Transfer(Encoding.UTF8.GetBytes(document), range);

    private static string Transfer(byte[] bytes, string range)
    {
        if (!TryParseWide(range, out ulong offset, out int length)) return "E01";
        if (offset >= (ulong)bytes.Length) return "l";
        int take = (int)Math.Min((ulong)length, (ulong)bytes.Length - offset);
        string piece = Encoding.Latin1.GetString(bytes, (int)offset, take);
        return ((ulong)take + offset >= (ulong)bytes.Length ? "l" : "m") + piece;
    }

    private static bool TryParseWide(string range, out ulong offset, out int length)
    {
        offset = 0;
        length = 0;
        var parts = range.Split(',');
        if (parts.Length != 2 || !Hex.TryParseNumber(parts[0], out offset) || !Hex.TryParseNumber(parts[1], out ulong len)) return false;
        length = (int)Math.Min(len, PacketSize);
        return true;
    }

    private string MonitorCommand(string command)
    {
        var hart = CurrentThread?.Hart;
        switch (command)
        {
            case "" or "help":
                return "Commands (monitor COMMAND):\n"
                    + "  help                this list\n"
                    + "  registers           the stopped thread's registers (also: info registers, regs)\n"
                    + "  engine              the execution engine, what breakpoints and watchpoints make it do, and its work so far\n"
                    + _target.MonitorHelp;
            case "registers" or "info registers" or "regs":
                return hart is null ? "no thread\n" : Registers.Dump(hart, _target.IsMachine);
            case "engine":
                return _control.Describe();
        }
        return (hart is null ? null : _target.Monitor(hart, command)) ?? $"unknown monitor command '{command}' (monitor help lists them)\n";
    }
}
