using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// Zihintpause: PAUSE, a FENCE encoding (pred = W, succ = 0) that says "this hart is spinning".
/// Linux's cpu_relax() emits it in every spin-wait. Architecturally it does nothing; here it lets a
/// hart that shares its host thread with others give up the rest of its quantum (<see cref="Hart.YieldOnPause"/>).
/// </summary>
[IsaExtension("Zihintpause")]
internal static partial class Zihintpause
{
    [Instruction("pause", "0000 0001 0000 00000 000 00000 0001111", "", Overrides = ["fence"], Flow = ControlFlow.ChangesState)]
    private static int Pause(Hart h, ref Insn i, int idx)
    {
        if (!h.YieldOnPause) return idx + i.Slots;
        h.Yield();
        return h.ExitAfter(ref i, idx);
    }
}
