using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// The hypervisor extension's instructions: the virtual-machine loads and stores (HLV, HLVX, HSV),
/// which access memory as VS- or VU-mode would (hstatus.SPVP) from HS-mode, M-mode or, with
/// hstatus.HU, U-mode; and the fences of the VS-stage and G-stage translations.
/// </summary>
[IsaExtension("H")]
internal static unsafe partial class Hypervisor
{
    /// <summary>Whether the current mode may run a hypervisor instruction; else the exception it raises (as a semantics return).</summary>
    private static bool Permitted(Hart h, ref Insn i, int idx, bool fence, out int refused)
    {
        refused = 0;
        if (!h.HasHypervisor) refused = Privileged.IllegalInstruction(h, ref i, idx);
        else if (h.Virtualized) refused = Privileged.VirtualInstruction(h, ref i, idx);
        else if (h.Privilege == PrivilegeLevel.User && (fence || (h.Hstatus & HstatusBits.Hu) == 0))
            refused = Privileged.IllegalInstruction(h, ref i, idx);
        else return true;
        return false;
    }

    private static int Load<T>(Hart h, ref Insn i, int idx, bool executableAsReadable) where T : unmanaged
    {
        if (!Permitted(h, ref i, idx, fence: false, out int refused)) return refused;
        if (!h.LoadAsGuest(h.X[i.Rs1], executableAsReadable, out T value)) return h.RaisePending(idx);
        h.X[i.Rd] = Rv64I.Widen(value);
        return idx + i.Slots;
    }

    private static int Store<T>(Hart h, ref Insn i, int idx, T value) where T : unmanaged
    {
        if (!Permitted(h, ref i, idx, fence: false, out int refused)) return refused;
        if (!h.StoreAsGuest(h.X[i.Rs1], value)) return h.RaisePending(idx);
        return idx + i.Slots;
    }

    [Instruction("hlv.b", "0110000 00000 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvB(Hart h, ref Insn i, int idx) => Load<sbyte>(h, ref i, idx, false);

    [Instruction("hlv.bu", "0110000 00001 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvBu(Hart h, ref Insn i, int idx) => Load<byte>(h, ref i, idx, false);

    [Instruction("hlv.h", "0110010 00000 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvH(Hart h, ref Insn i, int idx) => Load<short>(h, ref i, idx, false);

    [Instruction("hlv.hu", "0110010 00001 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvHu(Hart h, ref Insn i, int idx) => Load<ushort>(h, ref i, idx, false);

    [Instruction("hlvx.hu", "0110010 00011 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvxHu(Hart h, ref Insn i, int idx) => Load<ushort>(h, ref i, idx, true);

    [Instruction("hlv.w", "0110100 00000 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvW(Hart h, ref Insn i, int idx) => Load<int>(h, ref i, idx, false);

    [Instruction("hlv.wu", "0110100 00001 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvWu(Hart h, ref Insn i, int idx) => Load<uint>(h, ref i, idx, false);

    [Instruction("hlvx.wu", "0110100 00011 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvxWu(Hart h, ref Insn i, int idx) => Load<uint>(h, ref i, idx, true);

    [Instruction("hlv.d", "0110110 00000 ..... 100 ..... 1110011", "xd, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HlvD(Hart h, ref Insn i, int idx) => Load<ulong>(h, ref i, idx, false);

    [Instruction("hsv.b", "0110001 ..... ..... 100 00000 1110011", "xs2, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HsvB(Hart h, ref Insn i, int idx) => Store(h, ref i, idx, (byte)h.X[i.Rs2]);

    [Instruction("hsv.h", "0110011 ..... ..... 100 00000 1110011", "xs2, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HsvH(Hart h, ref Insn i, int idx) => Store(h, ref i, idx, (ushort)h.X[i.Rs2]);

    [Instruction("hsv.w", "0110101 ..... ..... 100 00000 1110011", "xs2, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HsvW(Hart h, ref Insn i, int idx) => Store(h, ref i, idx, (uint)h.X[i.Rs2]);

    [Instruction("hsv.d", "0110111 ..... ..... 100 00000 1110011", "xs2, (xs1)", Flow = ControlFlow.ChangesState)]
    private static int HsvD(Hart h, ref Insn i, int idx) => Store(h, ref i, idx, h.X[i.Rs2]);

    /// <summary>
    /// HFENCE.VVMA orders and flushes VS-stage translations, HFENCE.GVMA G-stage ones (mstatus.TVM
    /// traps it in HS-mode). The TLBs keep neither ASIDs nor VMIDs and hold two-stage results: both
    /// forget every translation of V mode, and this hart's HS-mode ones with them.
    /// </summary>
    [Instruction("hfence.vvma", "0010001 ..... ..... 000 00000 1110011", "xs1, xs2", Flow = ControlFlow.ChangesState)]
    private static int HfenceVvma(Hart h, ref Insn i, int idx)
    {
        if (!Permitted(h, ref i, idx, fence: true, out int refused)) return refused;
        h.FlushTlb();
        return h.ExitAfter(ref i, idx);
    }

    [Instruction("hfence.gvma", "0110001 ..... ..... 000 00000 1110011", "xs1, xs2", Flow = ControlFlow.ChangesState)]
    private static int HfenceGvma(Hart h, ref Insn i, int idx)
    {
        if (!Permitted(h, ref i, idx, fence: true, out int refused)) return refused;
        if (h.Privilege == PrivilegeLevel.Supervisor && (h.Mstatus & MstatusBits.Tvm) != 0)
            return Privileged.IllegalInstruction(h, ref i, idx);
        h.FlushTlb();
        return h.ExitAfter(ref i, idx);
    }
}
