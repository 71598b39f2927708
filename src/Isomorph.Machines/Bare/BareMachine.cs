using System.Diagnostics;
using Isomorph.Devices.Bus;
using Isomorph.Devices.Clint;
using Isomorph.Devices.Htif;
using Isomorph.Elf;
using Isomorph.Riscv;
using Isomorph.Riscv.Execution;
using Isomorph.Riscv.Isa;

namespace Isomorph.Machines.Bare;

/// <summary>Options of a bare-metal run.</summary>
public sealed record BareOptions
{
    public ulong MemorySize { get; init; } = 128ul << 20;
    /// <summary>Whether the hart has the hypervisor extension (H): on, as on QEMU's default rv64 CPU.</summary>
    public bool Hypervisor { get; init; } = true;
    /// <summary>Stop with <see cref="BareStop.InstructionLimit"/> after this many instructions (0: no limit).</summary>
    public long MaxInstructions { get; init; }
    /// <summary>Where one line per instruction goes, or null.</summary>
    public TextWriter? Trace { get; init; }
    /// <summary>Where the guest's HTIF console output goes.</summary>
    public Stream? Console { get; init; }
    /// <summary>The engine that runs the hart (null: <see cref="ExecutionEngines.Default"/>).</summary>
    public IExecutionEngine? Engine { get; init; }
}

public enum BareStop { Exited, InstructionLimit, Deadlock, UnsupportedHtif, Killed }

/// <summary>How a bare-metal run ended.</summary>
public sealed record BareResult(BareStop Stop, int ExitCode, long Instructions, TimeSpan Elapsed, string? Message)
{
    public double Mips => Elapsed.TotalSeconds > 0 ? Instructions / Elapsed.TotalSeconds / 1e6 : 0;
}

/// <summary>
/// A bare-metal RISC-V machine in the manner of Spike: RAM at 0x8000_0000, a CLINT at 0x200_0000,
/// and HTIF through the program's <c>tohost</c>/<c>fromhost</c> symbols. One hart starts in M-mode
/// at the ELF entry point. Time (mtime) advances with retired instructions, and jumps ahead while
/// the hart waits in WFI, so runs are deterministic.
/// </summary>
public sealed class BareMachine : IDisposable
{
    public const ulong RamBase = 0x8000_0000;
    public const ulong ClintBase = 0x200_0000;
    /// <summary>Retired instructions per mtime tick.</summary>
    public const long InstructionsPerTick = 10;
    private const long Chunk = 1 << 16;

    private readonly BareOptions _options;
    private readonly Htif _htif = new();
    private readonly Clint _clint;
    private ulong _idleTicks;
    private int? _exitCode;
    private string? _unsupported;
    private readonly Stream _console;

    public ElfFile Elf { get; }
    public PhysicalBus Bus { get; } = new();
    public Ram Ram { get; }
    public Hart Hart { get; }

    public BareMachine(ElfFile elf, BareOptions options)
    {
        _options = options;
        Elf = elf;
        _console = options.Console ?? Stream.Null;
        if (options.MemorySize < Ram.PageSize || options.MemorySize % Ram.PageSize != 0)
            throw new MachineConfigurationException($"memory size {options.MemorySize} is not a positive multiple of 4 KiB");
        try
        {
            Ram = Bus.AddRam(RamBase, options.MemorySize);
        }
        catch (InsufficientMemoryException e)
        {
            throw new MachineConfigurationException(e.Message);
        }
        Hart = new Hart(Bus, 0, hypervisor: options.Hypervisor);
        _clint = new Clint(1, () => (ulong)(Hart.Instret / InstructionsPerTick) + _idleTicks,
            (_, on) => Hart.SetInterruptPending(InterruptCause.MachineSoftware, on),
            (_, on) => Hart.SetInterruptPending(InterruptCause.MachineTimer, on));
        Bus.AddDevice(ClintBase, _clint);
        Hart.TimeSource = () => _clint.Mtime;
        LoadSegments();
        AttachHtif();
        Hart.Pc = elf.Entry;
    }

    private unsafe void LoadSegments()
    {
        // Without a loadable segment the hart would run RAM's zeros (illegal instructions) for ever.
        if (!Elf.Segments.Any(s => s.Type == ElfSegment.Load && s.MemorySize != 0))
            throw new MachineConfigurationException($"{Elf.Path}: no loadable segments");
        foreach (var s in Elf.Segments)
        {
            if (s.Type != ElfSegment.Load || s.MemorySize == 0) continue;
            if (!Ram.Contains(s.PhysicalAddress, s.MemorySize))
                throw new MachineConfigurationException(
                    $"{Elf.Path}: segment at 0x{s.PhysicalAddress:x} (0x{s.MemorySize:x} bytes) lies outside RAM " +
                    $"[0x{Ram.Base:x}, 0x{Ram.End:x}); try a larger --memory");
            Elf.SegmentBytes(s).CopyTo(Ram.Span(s.PhysicalAddress, (int)s.FileSize));
            for (ulong at = s.PhysicalAddress + s.FileSize, end = s.PhysicalAddress + s.MemorySize; at < end;)
            {
                int chunk = (int)Math.Min(end - at, 1ul << 30); // .bss: RAM is zero already unless reused
                Ram.Span(at, chunk).Clear();
                at += (ulong)chunk;
            }
        }
        if (!Ram.Contains(Elf.Entry))
            throw new MachineConfigurationException($"{Elf.Path}: entry point 0x{Elf.Entry:x} lies outside RAM");
    }

    private void AttachHtif()
    {
        _htif.Exited += code => { _exitCode = code; Hart.RequestStop(); };
        _htif.ConsoleOutput += b =>
        {
            _console.WriteByte(b);
            if (b == '\n') _console.Flush();
        };
        _htif.Unsupported += message => { _unsupported = message; Hart.RequestStop(); };
        if (Elf.TryGetSymbol("tohost", out var toHost)) AddHtifWindow("tohost", toHost.Value, _htif.ToHostWindow);
        if (Elf.TryGetSymbol("fromhost", out var fromHost)) AddHtifWindow("fromhost", fromHost.Value, _htif.FromHostWindow);
    }

    private void AddHtifWindow(string symbol, ulong address, IMmioDevice window)
    {
        // A crafted symbol table can put the window at the top of the address space or over the CLINT.
        if (address > ulong.MaxValue - window.Size)
            throw new MachineConfigurationException($"{Elf.Path}: symbol {symbol} at 0x{address:x} lies at the end of the address space");
        try
        {
            Bus.AddDevice(address, window);
        }
        catch (ArgumentException e)
        {
            throw new MachineConfigurationException($"{Elf.Path}: symbol {symbol}: {e.Message}");
        }
    }

    private volatile bool _killed;

    /// <summary>Ends <see cref="Run"/> at the hart's next instruction boundary (gdb's kill); thread-safe.</summary>
    public void Kill()
    {
        _killed = true;
        Hart.RequestStop();
    }

    /// <summary>Runs the program until it exits through HTIF, hits the instruction limit, or can never wake.</summary>
    public BareResult Run()
    {
        var clock = Stopwatch.StartNew();
        long limit = _options.MaxInstructions > 0 ? _options.MaxInstructions : long.MaxValue;
        var tracer = _options.Trace is { } w ? new Tracer(Hart, w) : null;
        try
        {
            while (true)
            {
                if (_exitCode is { } code) return Result(BareStop.Exited, code, null);
                if (_unsupported is { } u) return Result(BareStop.UnsupportedHtif, 0, u);
                if (_killed) return Result(BareStop.Killed, 0, "killed by the debugger");
                long remaining = limit - Hart.Steps;
                if (remaining <= 0)
                    return Result(BareStop.InstructionLimit, 0, $"instruction limit of {limit} reached at pc 0x{Hart.Pc:x}");
                var stop = tracer is null ? (_options.Engine ?? ExecutionEngines.Default).Run(Hart, Math.Min(remaining, Chunk)) : tracer.Step();
                _clint.Update();
                if (stop == HartStop.WaitingForInterrupt && !SkipIdleTime())
                    return Result(BareStop.Deadlock, 0, $"the hart waits (wfi at pc 0x{Hart.Pc - 4:x}) for an interrupt that can never arrive");
            }
        }
        finally
        {
            _console.Flush();
            Hart.SettleStatistics();
        }

        BareResult Result(BareStop stop, int code, string? message) => new(stop, code, Hart.Instret, clock.Elapsed, message);
    }

    /// <summary>While the hart waits, time jumps to the next timer deadline. False when nothing can wake it.</summary>
    private bool SkipIdleTime()
    {
        const ulong mtip = 1ul << 7;
        if ((Hart.Mie & mtip) == 0) return (Hart.Mip & Hart.Mie) != 0;
        ulong deadline = _clint.NextDeadline;
        if (deadline == ulong.MaxValue) return false;
        ulong now = _clint.Mtime;
        if (deadline > now) _idleTicks += deadline - now;
        _clint.Update();
        return true;
    }

    /// <summary>The 32-bit words between the symbols begin_signature and end_signature, as the RISC-V architecture tests expect.</summary>
    public IReadOnlyList<uint> Signature()
    {
        if (!Elf.TryGetSymbol("begin_signature", out var begin) || !Elf.TryGetSymbol("end_signature", out var end))
            throw new MachineConfigurationException($"{Elf.Path}: no begin_signature/end_signature symbols");
        if (end.Value < begin.Value || !Ram.Contains(begin.Value, end.Value - begin.Value))
            throw new MachineConfigurationException($"{Elf.Path}: the signature region lies outside RAM");
        if (end.Value - begin.Value > int.MaxValue)
            throw new MachineConfigurationException($"{Elf.Path}: the signature region is larger than 2 GiB");
        var bytes = Ram.Span(begin.Value, (int)(end.Value - begin.Value));
        var words = new uint[bytes.Length / 4];
        for (int i = 0; i < words.Length; i++) words[i] = BitConverter.ToUInt32(bytes.Slice(i * 4, 4));
        return words;
    }

    public void Dispose()
    {
        Hart.Dispose();
        Ram.Dispose();
    }

    /// <summary>Single-steps the hart, printing pc, encoding, disassembly and the register written.</summary>
    private sealed unsafe class Tracer(Hart hart, TextWriter writer)
    {
        private readonly ulong[] _before = new ulong[64];

        public HartStop Step()
        {
            ulong pc = hart.Pc;
            uint? raw = hart.PeekInstruction(pc);
            for (int r = 0; r < 32; r++) { _before[r] = hart.X[r]; _before[32 + r] = hart.F[r]; }
            long traps = hart.Statistics.Total;
            var stop = hart.Step();
            string text = raw is { } bits ? Disassembler.Disassemble(bits, pc) : "(cannot fetch)";
            string encoding = raw is { } b2 ? (Decoder.IsWide(b2) ? b2.ToString("x8") : "    " + b2.ToString("x4")) : "????????";
            string written = "";
            for (int r = 1; r < 32; r++)
                if (hart.X[r] != _before[r]) { written = $"  {RegisterNames.X(r)}=0x{hart.X[r]:x}"; break; }
            if (written.Length == 0)
                for (int r = 0; r < 32; r++)
                    if (hart.F[r] != _before[32 + r]) { written = $"  {RegisterNames.F(r)}=0x{hart.F[r]:x}"; break; }
            writer.WriteLine($"{pc:x16} {encoding}  {text,-32}{written}");
            if (hart.Statistics.Total != traps)
                writer.WriteLine($"                 trap -> pc 0x{hart.Pc:x} (privilege {hart.Privilege})");
            return stop;
        }
    }
}
