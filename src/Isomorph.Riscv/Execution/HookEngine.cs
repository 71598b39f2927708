using Isomorph.Riscv.Translation;

namespace Isomorph.Riscv.Execution;

/// <summary>A hook on an instruction: called on the hart's thread before the instruction at its address executes.</summary>
public delegate void InstructionHook(Hart hart);

/// <summary>A hook on memory: called on the hart's thread before a load or store of <paramref name="size"/> bytes at <paramref name="address"/> in its range.</summary>
public delegate void AccessHook(Hart hart, ulong address, int size, bool write);

/// <summary>
/// An engine that calls hooks as guest code runs, as Unicorn's hooks do: on an instruction's address
/// before it executes, and on loads and stores in a memory range before they happen. It wraps the
/// engine the machine would use otherwise, and hooks cost nothing where they are not:
/// <list type="bullet">
/// <item>Under the translator everything runs translated, a hooked instruction's page too: its regions
/// are translated around the hooked instructions, and the translator returns on reaching one
/// (<see cref="TranslatingEngine.RunUntil"/>); the hook is called and that instruction interpreted.
/// Under the interpreter, a page holding a hooked instruction runs a page at a time, stopping before
/// the hooked slots (<see cref="Hart.RunInPage"/>).</item>
/// <item>A page with a memory hook stays out of the harts' TLBs (<see cref="Hart.Watch"/>), so its
/// loads and stores take the slow path, which reports them here; other pages keep the fast path.</item>
/// </list>
/// Hooks are added before the guest runs (a program's symbols are known once it is loaded).
/// </summary>
public sealed class HookEngine(IExecutionEngine inner) : IExecutionEngine
{
    private volatile Dictionary<ulong, InstructionHook> _instructions = [];
    private volatile Dictionary<ulong, ulong[]> _instructionPages = [];
    private volatile AccessWatch? _access;
    private readonly Dictionary<ulong, ulong[]> _slotsSeen = [];

    public string Name => inner.Name;

    /// <summary>Calls <paramref name="hook"/> before the instruction at virtual address <paramref name="address"/> executes (one hook an address; a second replaces the first).</summary>
    public void OnInstruction(ulong address, InstructionHook hook)
    {
        if ((address & 1) != 0) throw new ArgumentException($"0x{address:x} is not an instruction's address (instructions are 2-byte aligned)", nameof(address));
        var instructions = new Dictionary<ulong, InstructionHook>(_instructions) { [address] = hook };
        (_instructions, _instructionPages) = (instructions, StopSlots.ByPage(instructions.Keys, _slotsSeen));
    }

    /// <summary>Calls <paramref name="hook"/> before every load (<paramref name="reads"/>) or store (<paramref name="writes"/>) that touches [start, start + length).</summary>
    public void OnAccess(ulong start, ulong length, bool reads, bool writes, AccessHook hook)
    {
        if (length == 0 || start + length < start) throw new ArgumentException("an empty or wrapping range", nameof(length));
        _access = new AccessWatch([.. _access?.Ranges ?? [], new AccessRange(start, length, reads, writes, hook)]);
    }

    public HartStop Run(Hart hart, long maxInstructions)
    {
        var access = _access;
        if (access is not null && hart.Watch != access) hart.Watch = access;
        var pages = _instructionPages;
        if (pages.Count == 0) return inner.Run(hart, maxInstructions);
        var instructions = _instructions;
        long end = hart.Steps + maxInstructions;
        while (true)
        {
            ulong pc = hart.Pc;
            HartStop stop;
            long budget = Math.Max(1, end - hart.Steps);
            if (pages.TryGetValue(pc >> 12, out var slots))
            {
                if (instructions.TryGetValue(pc, out var hook))
                {
                    hook(hart);
                    if (hart.Pc != pc) continue; // the hook sent the hart elsewhere
                    stop = hart.RunInPage(1); // the hooked instruction itself
                }
                else stop = inner is TranslatingEngine jit ? jit.RunUntil(hart, budget, pages) : hart.RunInPage(budget, slots);
            }
            else stop = inner is TranslatingEngine jit ? jit.RunUntil(hart, budget, pages) : hart.RunInPage(budget);
            if (stop != HartStop.Budget) return stop;
            if (hart.Steps >= end) return HartStop.Budget;
        }
    }

    private sealed record AccessRange(ulong Start, ulong Length, bool Reads, bool Writes, AccessHook Hook)
    {
        public bool Overlaps(ulong address, ulong length) => address < Start + Length && Start < address + length;
    }

    /// <summary>The memory hooks as the harts' slow paths see them: reported, never halting.</summary>
    private sealed class AccessWatch(AccessRange[] ranges) : IAccessWatch
    {
        public AccessRange[] Ranges => ranges;

        public bool WatchesPage(ulong va)
        {
            ulong page = va & ~0xFFFul;
            foreach (var r in ranges)
                if (r.Overlaps(page, 4096)) return true;
            return false;
        }

        public IEnumerable<ulong> Pages
        {
            get
            {
                foreach (var r in ranges)
                    for (ulong page = r.Start >> 12; page <= (r.Start + r.Length - 1) >> 12; page++)
                        yield return page;
            }
        }

        public bool Accessed(Hart hart, ulong va, int size, AccessType access)
        {
            bool write = access == AccessType.Write;
            foreach (var r in ranges)
                if ((write ? r.Writes : r.Reads) && r.Overlaps(va, (ulong)size)) r.Hook(hart, va, size, write);
            return false;
        }
    }
}
