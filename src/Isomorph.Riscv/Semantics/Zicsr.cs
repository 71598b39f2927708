using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// Zicsr: atomic read-modify-write of CSRs. csrrw with rd = x0 does not read; csrrs/csrrc with
/// rs1 = x0 (or a zero immediate) do not write, so read-only CSRs can be read with them.
/// </summary>
[IsaExtension("Zicsr")]
internal static unsafe partial class Zicsr
{
    private enum Op { Write, Set, Clear }

    private static int Access(Hart h, ref Insn i, int idx, Op op, ulong operand, bool writes)
    {
        int csr = (int)i.Imm;
        bool reads = op != Op.Write || i.Rd != Hart.ZeroSink;
        ulong old = 0;
        if (reads && h.ReadCsr(csr, out old) is var readFault and not CsrFault.None) return Refuse(h, ref i, idx, readFault);
        if (writes)
        {
            ulong basis = op == Op.Write ? 0 : h.ReadModifyWriteBasis(csr, old);
            ulong value = op switch { Op.Write => operand, Op.Set => basis | operand, _ => basis & ~operand };
            if (h.WriteCsr(csr, value) is var writeFault and not CsrFault.None) return Refuse(h, ref i, idx, writeFault);
        }
        h.X[i.Rd] = old;
        // A CSR write may change translation, interrupt enables or the privilege state: leave the fast loop.
        return writes ? h.ExitAfter(ref i, idx) : idx + i.Slots;
    }

    private static int Refuse(Hart h, ref Insn i, int idx, CsrFault fault) =>
        h.Raise(fault == CsrFault.Virtual ? ExceptionCause.VirtualInstruction : ExceptionCause.IllegalInstruction, i.Raw, idx);

    [Instruction("csrrw", "............ ..... 001 ..... 1110011", "xd, csr, xs1", Flow = ControlFlow.ChangesState)]
    private static int Csrrw(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Write, h.X[i.Rs1], true);

    [Instruction("csrrs", "............ ..... 010 ..... 1110011", "xd, csr, xs1", Flow = ControlFlow.ChangesState)]
    private static int Csrrs(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Set, h.X[i.Rs1], i.Rs1 != 0);

    [Instruction("csrrc", "............ ..... 011 ..... 1110011", "xd, csr, xs1", Flow = ControlFlow.ChangesState)]
    private static int Csrrc(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Clear, h.X[i.Rs1], i.Rs1 != 0);

    [Instruction("csrrwi", "............ ..... 101 ..... 1110011", "xd, csr, zimm", Flow = ControlFlow.ChangesState)]
    private static int Csrrwi(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Write, i.Rs1, true);

    [Instruction("csrrsi", "............ ..... 110 ..... 1110011", "xd, csr, zimm", Flow = ControlFlow.ChangesState)]
    private static int Csrrsi(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Set, i.Rs1, i.Rs1 != 0);

    [Instruction("csrrci", "............ ..... 111 ..... 1110011", "xd, csr, zimm", Flow = ControlFlow.ChangesState)]
    private static int Csrrci(Hart h, ref Insn i, int idx) => Access(h, ref i, idx, Op.Clear, i.Rs1, i.Rs1 != 0);
}

/// <summary>Zifencei: instruction-fetch fence. Stores already invalidate decoded code, so nothing is stale.</summary>
[IsaExtension("Zifencei")]
internal static unsafe partial class Zifencei
{
    [Instruction("fence.i", "............ ..... 001 ..... 0001111", "", Flow = ControlFlow.ChangesState)]
    private static int FenceI(Hart h, ref Insn i, int idx)
    {
        Interlocked.MemoryBarrier();
        return h.ExitAfter(ref i, idx);
    }
}
