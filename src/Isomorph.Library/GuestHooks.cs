using Isomorph.Linux.Memory;
using Isomorph.Riscv;
using Isomorph.Riscv.Execution;

namespace Isomorph;

/// <summary>What a hook is given: the guest thread that reached it, its registers and its process's memory.</summary>
public readonly struct GuestThread
{
    private readonly Hart _hart;
    private readonly GuestAddressSpace _space;

    internal GuestThread(Hart hart, GuestAddressSpace space)
    {
        _hart = hart;
        _space = space;
    }

    /// <summary>The address of the instruction about to execute; set it to send the thread elsewhere (an instruction hook only).</summary>
    public ulong Pc
    {
        get => _hart.Pc;
        set => _hart.Pc = value;
    }

    /// <summary>Integer register x<paramref name="index"/> (0-31; x0 reads 0 and ignores writes).</summary>
    public ulong this[int index]
    {
        get => (uint)index < 32 ? _hart.GetX(index) : throw new ArgumentOutOfRangeException(nameof(index));
        set
        {
            if ((uint)index >= 32) throw new ArgumentOutOfRangeException(nameof(index));
            _hart.SetX(index, value);
        }
    }

    /// <summary>The process's memory, checked as the guest's own accesses are.</summary>
    public GuestMemory Memory => new(_space);
}

/// <summary>A hook on an instruction, called before it executes.</summary>
public delegate void CodeHook(GuestThread thread);

/// <summary>A hook on memory, called before a load or store of <paramref name="size"/> bytes at <paramref name="address"/>.</summary>
public delegate void MemoryHook(GuestThread thread, ulong address, int size, bool write);

/// <summary>A hook on system calls, called before each one is served (or refused): the thread and the call.</summary>
public delegate void SystemCallHook(GuestThread thread, SystemCall call);

/// <summary>A hook on traps: called when a guest instruction faults, before the signal it raises (<paramref name="signal"/>: SIGSEGV, SIGILL, SIGBUS, SIGFPE, SIGTRAP) acts; the thread's pc is the faulting instruction's.</summary>
public delegate void TrapHook(GuestThread thread, int signal);

/// <summary>
/// Hooks as Unicorn has them, for a <see cref="LinuxProgram"/>: on an instruction (by address or
/// symbol) before it executes, and on loads and stores in a range of memory before they happen.
/// Called on the guest thread that reaches them, under either engine. A program without hooks pays
/// nothing for the feature; with hooks, code and memory away from them run as fast as without:
/// only a page holding a hooked instruction is interpreted, and only a page with a memory hook
/// leaves the fast path for its loads and stores.
/// </summary>
public sealed class GuestHooks
{
    private readonly List<(ulong Address, CodeHook Hook)> _byAddress = [];
    private readonly List<(string Symbol, CodeHook Hook)> _bySymbol = [];
    private readonly List<(ulong Start, ulong Length, bool Reads, bool Writes, MemoryHook Hook)> _memory = [];
    private readonly List<(string Symbol, ulong Length, bool Reads, bool Writes, MemoryHook Hook)> _memoryBySymbol = [];
    private readonly List<SystemCallHook> _systemCalls = [];
    private readonly List<TrapHook> _traps = [];

    /// <summary>Calls <paramref name="hook"/> before each system call the program makes is served, or refused by the allow-list.</summary>
    public GuestHooks OnSystemCall(SystemCallHook hook)
    {
        _systemCalls.Add(hook);
        return this;
    }

    /// <summary>Calls <paramref name="hook"/> when a guest instruction faults, before the signal acts (the handler the program installed, or its end).</summary>
    public GuestHooks OnTrap(TrapHook hook)
    {
        _traps.Add(hook);
        return this;
    }

    /// <summary>The process VM's observer for the system call hooks, or null when there are none.</summary>
    internal Linux.SystemCallObserver? SystemCallObserver => _systemCalls.Count == 0 ? null
        : (Linux.LinuxProcess process, Riscv.Hart hart, long number, in Linux.Syscalls.SyscallArgs args) =>
        {
            var call = new SystemCall(process, number, args);
            foreach (var hook in _systemCalls) hook(new GuestThread(hart, process.Memory), call);
        };

    /// <summary>The process VM's fault stop for the trap hooks (the signal goes on unchanged), or null when there are none.</summary>
    internal Func<Riscv.Hart, int, int>? TrapObserver(Func<GuestAddressSpace> space) => _traps.Count == 0 ? null
        : (hart, signal) =>
        {
            foreach (var hook in _traps) hook(new GuestThread(hart, space()), signal);
            return signal;
        };

    /// <summary>Calls <paramref name="hook"/> before the instruction at <paramref name="address"/> executes.</summary>
    public GuestHooks OnCode(ulong address, CodeHook hook)
    {
        _byAddress.Add((address, hook));
        return this;
    }

    /// <summary>Calls <paramref name="hook"/> before the first instruction of the function <paramref name="symbol"/> (of the program's own ELF file) executes.</summary>
    public GuestHooks OnCode(string symbol, CodeHook hook)
    {
        _bySymbol.Add((symbol, hook));
        return this;
    }

    /// <summary>Calls <paramref name="hook"/> before every load (<paramref name="reads"/>) and store (<paramref name="writes"/>) touching [start, start + length).</summary>
    public GuestHooks OnMemory(ulong start, ulong length, MemoryHook hook, bool reads = true, bool writes = true)
    {
        _memory.Add((start, length, reads, writes, hook));
        return this;
    }

    /// <summary>Calls <paramref name="hook"/> before every load and store touching <paramref name="length"/> bytes at the variable <paramref name="symbol"/> (of the program's own ELF file).</summary>
    public GuestHooks OnMemory(string symbol, ulong length, MemoryHook hook, bool reads = true, bool writes = true)
    {
        _memoryBySymbol.Add((symbol, length, reads, writes, hook));
        return this;
    }

    /// <summary>True when no hook needs the hooking engine (code and memory hooks do; system call and trap hooks do not).</summary>
    internal bool NeedsNoEngine => _byAddress.Count == 0 && _bySymbol.Count == 0 && _memory.Count == 0 && _memoryBySymbol.Count == 0;

    /// <summary>Installs the hooks on <paramref name="engine"/> for a loaded program (its symbols resolved with <paramref name="addressOf"/>).</summary>
    internal void Install(HookEngine engine, Func<string, ulong> addressOf, Func<GuestAddressSpace> space)
    {
        foreach (var (address, hook) in _byAddress) engine.OnInstruction(address, hart => hook(new GuestThread(hart, space())));
        foreach (var (symbol, hook) in _bySymbol) engine.OnInstruction(addressOf(symbol), hart => hook(new GuestThread(hart, space())));
        foreach (var (start, length, reads, writes, hook) in _memory)
            engine.OnAccess(start, length, reads, writes, (hart, address, size, write) => hook(new GuestThread(hart, space()), address, size, write));
        foreach (var (symbol, length, reads, writes, hook) in _memoryBySymbol)
            engine.OnAccess(addressOf(symbol), length, reads, writes, (hart, address, size, write) => hook(new GuestThread(hart, space()), address, size, write));
    }
}
