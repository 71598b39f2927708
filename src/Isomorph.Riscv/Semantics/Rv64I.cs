using System.Numerics;
using System.Runtime.CompilerServices;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Semantics;

/// <summary>RV64I: the base integer instruction set.</summary>
[IsaExtension("I")]
internal static unsafe class Rv64I
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    // Upper immediates
    [Instruction("lui", "....................  ..... 0110111", "xd, uimm")]
    private static int Lui(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)i.Imm; return Next(ref i, idx); }

    [Instruction("auipc", "....................  ..... 0010111", "xd, uimm")]
    private static int Auipc(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.PcOf(idx) + (ulong)i.Imm; return Next(ref i, idx); }

    // Jumps and branches
    [Instruction("jal", "....................  ..... 1101111", "xd, jimm", Flow = ControlFlow.Jump)]
    private static int Jal(Hart h, ref Insn i, int idx)
    {
        ulong pc = h.PcOf(idx);
        h.X[i.Rd] = pc + (ulong)i.Length;
        return h.JumpTo(pc + (ulong)i.Imm);
    }

    [Instruction("jalr", "............ ..... 000 ..... 1100111", "xd, imm(xs1)", Flow = ControlFlow.IndirectJump)]
    private static int Jalr(Hart h, ref Insn i, int idx)
    {
        ulong target = (h.X[i.Rs1] + (ulong)i.Imm) & ~1ul;
        h.X[i.Rd] = h.PcOf(idx) + (ulong)i.Length;
        return h.JumpTo(target);
    }

    private static int Branch(Hart h, ref Insn i, int idx, bool taken) =>
        taken ? h.JumpTo(h.PcOf(idx) + (ulong)i.Imm) : Next(ref i, idx);

    [Instruction("beq", "....... ..... ..... 000 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Beq(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] == h.X[i.Rs2]);

    [Instruction("bne", "....... ..... ..... 001 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bne(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] != h.X[i.Rs2]);

    [Instruction("blt", "....... ..... ..... 100 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Blt(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, (long)h.X[i.Rs1] < (long)h.X[i.Rs2]);

    [Instruction("bge", "....... ..... ..... 101 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bge(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, (long)h.X[i.Rs1] >= (long)h.X[i.Rs2]);

    [Instruction("bltu", "....... ..... ..... 110 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bltu(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] < h.X[i.Rs2]);

    [Instruction("bgeu", "....... ..... ..... 111 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bgeu(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] >= h.X[i.Rs2]);

    // Loads and stores: loads sign- or zero-extend by the type they read.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Load<T>(Hart h, ref Insn i, int idx) where T : unmanaged, IBinaryInteger<T>
    {
        if (!h.Load(h.X[i.Rs1] + (ulong)i.Imm, out T v)) return h.RaisePending(idx);
        h.X[i.Rd] = (ulong)long.CreateTruncating(v);
        return Next(ref i, idx);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Store<T>(Hart h, ref Insn i, int idx) where T : unmanaged, IBinaryInteger<T> =>
        h.Store(h.X[i.Rs1] + (ulong)i.Imm, T.CreateTruncating(h.X[i.Rs2])) ? Next(ref i, idx) : h.RaisePending(idx);

    [Instruction("lb", "............ ..... 000 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lb(Hart h, ref Insn i, int idx) => Load<sbyte>(h, ref i, idx);

    [Instruction("lh", "............ ..... 001 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lh(Hart h, ref Insn i, int idx) => Load<short>(h, ref i, idx);

    [Instruction("lw", "............ ..... 010 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lw(Hart h, ref Insn i, int idx) => Load<int>(h, ref i, idx);

    [Instruction("ld", "............ ..... 011 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Ld(Hart h, ref Insn i, int idx) => Load<long>(h, ref i, idx);

    [Instruction("lbu", "............ ..... 100 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lbu(Hart h, ref Insn i, int idx) => Load<byte>(h, ref i, idx);

    [Instruction("lhu", "............ ..... 101 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lhu(Hart h, ref Insn i, int idx) => Load<ushort>(h, ref i, idx);

    [Instruction("lwu", "............ ..... 110 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lwu(Hart h, ref Insn i, int idx) => Load<uint>(h, ref i, idx);

    [Instruction("sb", "....... ..... ..... 000 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sb(Hart h, ref Insn i, int idx) => Store<byte>(h, ref i, idx);

    [Instruction("sh", "....... ..... ..... 001 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sh(Hart h, ref Insn i, int idx) => Store<ushort>(h, ref i, idx);

    [Instruction("sw", "....... ..... ..... 010 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sw(Hart h, ref Insn i, int idx) => Store<uint>(h, ref i, idx);

    [Instruction("sd", "....... ..... ..... 011 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sd(Hart h, ref Insn i, int idx) => Store<ulong>(h, ref i, idx);

    // Register-immediate
    [Instruction("addi", "............ ..... 000 ..... 0010011", "xd, xs1, imm")]
    private static int Addi(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] + (ulong)i.Imm; return Next(ref i, idx); }

    [Instruction("slti", "............ ..... 010 ..... 0010011", "xd, xs1, imm")]
    private static int Slti(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (long)h.X[i.Rs1] < i.Imm ? 1ul : 0; return Next(ref i, idx); }

    [Instruction("sltiu", "............ ..... 011 ..... 0010011", "xd, xs1, imm")]
    private static int Sltiu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] < (ulong)i.Imm ? 1ul : 0; return Next(ref i, idx); }

    [Instruction("xori", "............ ..... 100 ..... 0010011", "xd, xs1, imm")]
    private static int Xori(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ (ulong)i.Imm; return Next(ref i, idx); }

    [Instruction("ori", "............ ..... 110 ..... 0010011", "xd, xs1, imm")]
    private static int Ori(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | (ulong)i.Imm; return Next(ref i, idx); }

    [Instruction("andi", "............ ..... 111 ..... 0010011", "xd, xs1, imm")]
    private static int Andi(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & (ulong)i.Imm; return Next(ref i, idx); }

    [Instruction("slli", "000000 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Slli(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] << (int)i.Imm; return Next(ref i, idx); }

    [Instruction("srli", "000000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Srli(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] >> (int)i.Imm; return Next(ref i, idx); }

    [Instruction("srai", "010000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Srai(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)((long)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }

    [Instruction("addiw", "............ ..... 000 ..... 0011011", "xd, xs1, imm")]
    private static int Addiw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] + (ulong)i.Imm); return Next(ref i, idx); }

    [Instruction("slliw", "0000000 ..... ..... 001 ..... 0011011", "xd, xs1, shamtw")]
    private static int Slliw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] << (int)i.Imm); return Next(ref i, idx); }

    [Instruction("srliw", "0000000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Srliw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }

    [Instruction("sraiw", "0100000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Sraiw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(long)((int)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }

    // Register-register
    [Instruction("add", "0000000 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Add(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] + h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("sub", "0100000 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Sub(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] - h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("sll", "0000000 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Sll(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] << (int)(h.X[i.Rs2] & 63); return Next(ref i, idx); }

    [Instruction("slt", "0000000 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Slt(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (long)h.X[i.Rs1] < (long)h.X[i.Rs2] ? 1ul : 0; return Next(ref i, idx); }

    [Instruction("sltu", "0000000 ..... ..... 011 ..... 0110011", "xd, xs1, xs2")]
    private static int Sltu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] < h.X[i.Rs2] ? 1ul : 0; return Next(ref i, idx); }

    [Instruction("xor", "0000000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Xor(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("srl", "0000000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Srl(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 63); return Next(ref i, idx); }

    [Instruction("sra", "0100000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Sra(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)((long)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }

    [Instruction("or", "0000000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Or(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("and", "0000000 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int And(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & h.X[i.Rs2]; return Next(ref i, idx); }

    [Instruction("addw", "0000000 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Addw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] + h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("subw", "0100000 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Subw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] - h.X[i.Rs2]); return Next(ref i, idx); }

    [Instruction("sllw", "0000000 ..... ..... 001 ..... 0111011", "xd, xs1, xs2")]
    private static int Sllw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] << (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }

    [Instruction("srlw", "0000000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Srlw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }

    [Instruction("sraw", "0100000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Sraw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(long)((int)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }

    // Memory ordering: a single hart sees its own accesses in order; across host threads the
    // fence maps to a full host barrier.
    [Instruction("fence", "............ ..... 000 ..... 0001111", "fence")]
    private static int Fence(Hart h, ref Insn i, int idx) { Interlocked.MemoryBarrier(); return Next(ref i, idx); }
}
