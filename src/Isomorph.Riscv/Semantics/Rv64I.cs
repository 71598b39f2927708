using System.Runtime.CompilerServices;
using System.Reflection.Emit;
using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;

namespace Isomorph.Riscv.Semantics;

/// <summary>RV64I: the base integer instruction set. Each instruction's IL emitter follows its semantics.</summary>
[IsaExtension("I")]
internal static unsafe partial class Rv64I
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;
    private static ulong SignExtend32(ulong v) => (ulong)(long)(int)v;

    // Upper immediates
    [Instruction("lui", "....................  ..... 0110111", "xd, uimm")]
    private static int Lui(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("lui")]
    private static void LuiIl(RegionEmitter e, in Insn i) { e.Constant(i.Imm); e.StoreX(i.Rd); }

    [Instruction("auipc", "....................  ..... 0010111", "xd, uimm")]
    private static int Auipc(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.PcOf(idx) + (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("auipc")]
    private static void AuipcIl(RegionEmitter e, in Insn i) { e.Pc(); e.Constant(i.Imm); e.Il.Emit(OpCodes.Add); e.StoreX(i.Rd); }

    // Jumps and branches
    [Instruction("jal", "....................  ..... 1101111", "xd, jimm", Flow = ControlFlow.Jump)]
    private static int Jal(Hart h, ref Insn i, int idx)
    {
        ulong pc = h.PcOf(idx);
        h.X[i.Rd] = pc + (ulong)i.Length;
        return h.JumpTo(pc + (ulong)i.Imm);
    }
    [Emitter("jal")]
    private static void JalIl(RegionEmitter e, in Insn i) => e.Jump(in i);

    [Instruction("jalr", "............ ..... 000 ..... 1100111", "xd, imm(xs1)", Flow = ControlFlow.IndirectJump)]
    private static int Jalr(Hart h, ref Insn i, int idx)
    {
        ulong target = (h.X[i.Rs1] + (ulong)i.Imm) & ~1ul;
        h.X[i.Rd] = h.PcOf(idx) + (ulong)i.Length;
        return h.JumpTo(target);
    }
    [Emitter("jalr")]
    private static void JalrIl(RegionEmitter e, in Insn i) => e.JumpIndirect(in i);

    private static int Branch(Hart h, ref Insn i, int idx, bool taken) =>
        taken ? h.JumpTo(h.PcOf(idx) + (ulong)i.Imm) : Next(ref i, idx);

    [Instruction("beq", "....... ..... ..... 000 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Beq(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] == h.X[i.Rs2]);
    [Emitter("beq")]
    private static void BeqIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Beq);

    [Instruction("bne", "....... ..... ..... 001 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bne(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] != h.X[i.Rs2]);
    [Emitter("bne")]
    private static void BneIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Bne_Un);

    [Instruction("blt", "....... ..... ..... 100 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Blt(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, (long)h.X[i.Rs1] < (long)h.X[i.Rs2]);
    [Emitter("blt")]
    private static void BltIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Blt);

    [Instruction("bge", "....... ..... ..... 101 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bge(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, (long)h.X[i.Rs1] >= (long)h.X[i.Rs2]);
    [Emitter("bge")]
    private static void BgeIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Bge);

    [Instruction("bltu", "....... ..... ..... 110 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bltu(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] < h.X[i.Rs2]);
    [Emitter("bltu")]
    private static void BltuIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Blt_Un);

    [Instruction("bgeu", "....... ..... ..... 111 ..... 1100011", "xs1, xs2, bimm", Flow = ControlFlow.Branch)]
    private static int Bgeu(Hart h, ref Insn i, int idx) => Branch(h, ref i, idx, h.X[i.Rs1] >= h.X[i.Rs2]);
    [Emitter("bgeu")]
    private static void BgeuIl(RegionEmitter e, in Insn i) => e.Branch(in i, OpCodes.Bge_Un);

    // Loads and stores: loads sign- or zero-extend by the type they read.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Load<T>(Hart h, ref Insn i, int idx) where T : unmanaged
    {
        if (!h.Load(h.X[i.Rs1] + (ulong)i.Imm, out T v)) return h.RaisePending(idx);
        h.X[i.Rd] = Widen(v);
        return Next(ref i, idx);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Store<T>(Hart h, ref Insn i, int idx) where T : unmanaged =>
        h.Store(h.X[i.Rs1] + (ulong)i.Imm, Narrow<T>(h.X[i.Rs2])) ? Next(ref i, idx) : h.RaisePending(idx);

    // Widen and Narrow test the type or its size, constants of the instantiation, without generic math
    // (long.CreateTruncating), whose instantiations ReadyToRun cannot compile ahead of time: so
    // every load's and store's code is in the CLI's image from the first instruction.

    /// <summary>A loaded value in 64 bits: sign-extended from a signed type, zero-extended from an unsigned one (loads here and the hypervisor's hlv).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static ulong Widen<T>(T v) where T : unmanaged
    {
        if (typeof(T) == typeof(sbyte)) return (ulong)Unsafe.BitCast<T, sbyte>(v);
        if (typeof(T) == typeof(short)) return (ulong)Unsafe.BitCast<T, short>(v);
        if (typeof(T) == typeof(int)) return (ulong)Unsafe.BitCast<T, int>(v);
        if (typeof(T) == typeof(byte)) return Unsafe.BitCast<T, byte>(v);
        if (typeof(T) == typeof(ushort)) return Unsafe.BitCast<T, ushort>(v);
        if (typeof(T) == typeof(uint)) return Unsafe.BitCast<T, uint>(v);
        return Unsafe.BitCast<T, ulong>(v);
    }

    /// <summary>A register's low bits, as many as a store of <typeparamref name="T"/> writes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static T Narrow<T>(ulong v) where T : unmanaged => sizeof(T) switch
    {
        1 => Unsafe.BitCast<byte, T>((byte)v),
        2 => Unsafe.BitCast<ushort, T>((ushort)v),
        4 => Unsafe.BitCast<uint, T>((uint)v),
        _ => Unsafe.BitCast<ulong, T>(v),
    };

    [Instruction("lb", "............ ..... 000 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lb(Hart h, ref Insn i, int idx) => Load<sbyte>(h, ref i, idx);
    [Emitter("lb")]
    private static void LbIl(RegionEmitter e, in Insn i) => e.Load<sbyte>(in i);

    [Instruction("lh", "............ ..... 001 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lh(Hart h, ref Insn i, int idx) => Load<short>(h, ref i, idx);
    [Emitter("lh")]
    private static void LhIl(RegionEmitter e, in Insn i) => e.Load<short>(in i);

    [Instruction("lw", "............ ..... 010 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lw(Hart h, ref Insn i, int idx) => Load<int>(h, ref i, idx);
    [Emitter("lw")]
    private static void LwIl(RegionEmitter e, in Insn i) => e.Load<int>(in i);

    [Instruction("ld", "............ ..... 011 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Ld(Hart h, ref Insn i, int idx) => Load<long>(h, ref i, idx);
    [Emitter("ld")]
    private static void LdIl(RegionEmitter e, in Insn i) => e.Load<long>(in i);

    [Instruction("lbu", "............ ..... 100 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lbu(Hart h, ref Insn i, int idx) => Load<byte>(h, ref i, idx);
    [Emitter("lbu")]
    private static void LbuIl(RegionEmitter e, in Insn i) => e.Load<byte>(in i);

    [Instruction("lhu", "............ ..... 101 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lhu(Hart h, ref Insn i, int idx) => Load<ushort>(h, ref i, idx);
    [Emitter("lhu")]
    private static void LhuIl(RegionEmitter e, in Insn i) => e.Load<ushort>(in i);

    [Instruction("lwu", "............ ..... 110 ..... 0000011", "xd, imm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Lwu(Hart h, ref Insn i, int idx) => Load<uint>(h, ref i, idx);
    [Emitter("lwu")]
    private static void LwuIl(RegionEmitter e, in Insn i) => e.Load<uint>(in i);

    [Instruction("sb", "....... ..... ..... 000 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sb(Hart h, ref Insn i, int idx) => Store<byte>(h, ref i, idx);
    [Emitter("sb")]
    private static void SbIl(RegionEmitter e, in Insn i) => e.Store<byte>(in i);

    [Instruction("sh", "....... ..... ..... 001 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sh(Hart h, ref Insn i, int idx) => Store<ushort>(h, ref i, idx);
    [Emitter("sh")]
    private static void ShIl(RegionEmitter e, in Insn i) => e.Store<ushort>(in i);

    [Instruction("sw", "....... ..... ..... 010 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sw(Hart h, ref Insn i, int idx) => Store<uint>(h, ref i, idx);
    [Emitter("sw")]
    private static void SwIl(RegionEmitter e, in Insn i) => e.Store<uint>(in i);

    [Instruction("sd", "....... ..... ..... 011 ..... 0100011", "xs2, simm(xs1)", Flow = ControlFlow.MayTrap)]
    private static int Sd(Hart h, ref Insn i, int idx) => Store<ulong>(h, ref i, idx);
    [Emitter("sd")]
    private static void SdIl(RegionEmitter e, in Insn i) => e.Store<ulong>(in i);

    // Register-immediate
    [Instruction("addi", "............ ..... 000 ..... 0010011", "xd, xs1, imm")]
    private static int Addi(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] + (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("addi")]
    private static void AddiIl(RegionEmitter e, in Insn i) => e.BinaryImmediate(in i, OpCodes.Add);

    [Instruction("slti", "............ ..... 010 ..... 0010011", "xd, xs1, imm")]
    private static int Slti(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (long)h.X[i.Rs1] < i.Imm ? 1ul : 0; return Next(ref i, idx); }
    [Emitter("slti")]
    private static void SltiIl(RegionEmitter e, in Insn i) => e.SetLessThan(in i, OpCodes.Clt, immediate: true);

    [Instruction("sltiu", "............ ..... 011 ..... 0010011", "xd, xs1, imm")]
    private static int Sltiu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] < (ulong)i.Imm ? 1ul : 0; return Next(ref i, idx); }
    [Emitter("sltiu")]
    private static void SltiuIl(RegionEmitter e, in Insn i) => e.SetLessThan(in i, OpCodes.Clt_Un, immediate: true);

    [Instruction("xori", "............ ..... 100 ..... 0010011", "xd, xs1, imm")]
    private static int Xori(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("xori")]
    private static void XoriIl(RegionEmitter e, in Insn i) => e.BinaryImmediate(in i, OpCodes.Xor);

    [Instruction("ori", "............ ..... 110 ..... 0010011", "xd, xs1, imm")]
    private static int Ori(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("ori")]
    private static void OriIl(RegionEmitter e, in Insn i) => e.BinaryImmediate(in i, OpCodes.Or);

    [Instruction("andi", "............ ..... 111 ..... 0010011", "xd, xs1, imm")]
    private static int Andi(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & (ulong)i.Imm; return Next(ref i, idx); }
    [Emitter("andi")]
    private static void AndiIl(RegionEmitter e, in Insn i) => e.BinaryImmediate(in i, OpCodes.And);

    [Instruction("slli", "000000 ...... ..... 001 ..... 0010011", "xd, xs1, shamt")]
    private static int Slli(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] << (int)i.Imm; return Next(ref i, idx); }
    [Emitter("slli")]
    private static void SlliIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shl, word: false, immediate: true);

    [Instruction("srli", "000000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Srli(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] >> (int)i.Imm; return Next(ref i, idx); }
    [Emitter("srli")]
    private static void SrliIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr_Un, word: false, immediate: true);

    [Instruction("srai", "010000 ...... ..... 101 ..... 0010011", "xd, xs1, shamt")]
    private static int Srai(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)((long)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }
    [Emitter("srai")]
    private static void SraiIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr, word: false, immediate: true);

    [Instruction("addiw", "............ ..... 000 ..... 0011011", "xd, xs1, imm")]
    private static int Addiw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] + (ulong)i.Imm); return Next(ref i, idx); }
    [Emitter("addiw")]
    private static void AddiwIl(RegionEmitter e, in Insn i) => e.BinaryImmediate(in i, OpCodes.Add, word: true);

    [Instruction("slliw", "0000000 ..... ..... 001 ..... 0011011", "xd, xs1, shamtw")]
    private static int Slliw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] << (int)i.Imm); return Next(ref i, idx); }
    [Emitter("slliw")]
    private static void SlliwIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shl, word: true, immediate: true);

    [Instruction("srliw", "0000000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Srliw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }
    [Emitter("srliw")]
    private static void SrliwIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr_Un, word: true, immediate: true);

    [Instruction("sraiw", "0100000 ..... ..... 101 ..... 0011011", "xd, xs1, shamtw")]
    private static int Sraiw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(long)((int)h.X[i.Rs1] >> (int)i.Imm); return Next(ref i, idx); }
    [Emitter("sraiw")]
    private static void SraiwIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr, word: true, immediate: true);

    // Register-register
    [Instruction("add", "0000000 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Add(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] + h.X[i.Rs2]; return Next(ref i, idx); }
    [Emitter("add")]
    private static void AddIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Add);

    [Instruction("sub", "0100000 ..... ..... 000 ..... 0110011", "xd, xs1, xs2")]
    private static int Sub(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] - h.X[i.Rs2]; return Next(ref i, idx); }
    [Emitter("sub")]
    private static void SubIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Sub);

    [Instruction("sll", "0000000 ..... ..... 001 ..... 0110011", "xd, xs1, xs2")]
    private static int Sll(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] << (int)(h.X[i.Rs2] & 63); return Next(ref i, idx); }
    [Emitter("sll")]
    private static void SllIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shl, word: false, immediate: false);

    [Instruction("slt", "0000000 ..... ..... 010 ..... 0110011", "xd, xs1, xs2")]
    private static int Slt(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (long)h.X[i.Rs1] < (long)h.X[i.Rs2] ? 1ul : 0; return Next(ref i, idx); }
    [Emitter("slt")]
    private static void SltIl(RegionEmitter e, in Insn i) => e.SetLessThan(in i, OpCodes.Clt, immediate: false);

    [Instruction("sltu", "0000000 ..... ..... 011 ..... 0110011", "xd, xs1, xs2")]
    private static int Sltu(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] < h.X[i.Rs2] ? 1ul : 0; return Next(ref i, idx); }
    [Emitter("sltu")]
    private static void SltuIl(RegionEmitter e, in Insn i) => e.SetLessThan(in i, OpCodes.Clt_Un, immediate: false);

    [Instruction("xor", "0000000 ..... ..... 100 ..... 0110011", "xd, xs1, xs2")]
    private static int Xor(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] ^ h.X[i.Rs2]; return Next(ref i, idx); }
    [Emitter("xor")]
    private static void XorIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Xor);

    [Instruction("srl", "0000000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Srl(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 63); return Next(ref i, idx); }
    [Emitter("srl")]
    private static void SrlIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr_Un, word: false, immediate: false);

    [Instruction("sra", "0100000 ..... ..... 101 ..... 0110011", "xd, xs1, xs2")]
    private static int Sra(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)((long)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 63)); return Next(ref i, idx); }
    [Emitter("sra")]
    private static void SraIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr, word: false, immediate: false);

    [Instruction("or", "0000000 ..... ..... 110 ..... 0110011", "xd, xs1, xs2")]
    private static int Or(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] | h.X[i.Rs2]; return Next(ref i, idx); }
    [Emitter("or")]
    private static void OrIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Or);

    [Instruction("and", "0000000 ..... ..... 111 ..... 0110011", "xd, xs1, xs2")]
    private static int And(Hart h, ref Insn i, int idx) { h.X[i.Rd] = h.X[i.Rs1] & h.X[i.Rs2]; return Next(ref i, idx); }
    [Emitter("and")]
    private static void AndIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.And);

    [Instruction("addw", "0000000 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Addw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] + h.X[i.Rs2]); return Next(ref i, idx); }
    [Emitter("addw")]
    private static void AddwIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Add, word: true);

    [Instruction("subw", "0100000 ..... ..... 000 ..... 0111011", "xd, xs1, xs2")]
    private static int Subw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32(h.X[i.Rs1] - h.X[i.Rs2]); return Next(ref i, idx); }
    [Emitter("subw")]
    private static void SubwIl(RegionEmitter e, in Insn i) => e.Binary(in i, OpCodes.Sub, word: true);

    [Instruction("sllw", "0000000 ..... ..... 001 ..... 0111011", "xd, xs1, xs2")]
    private static int Sllw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] << (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }
    [Emitter("sllw")]
    private static void SllwIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shl, word: true, immediate: false);

    [Instruction("srlw", "0000000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Srlw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = SignExtend32((uint)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }
    [Emitter("srlw")]
    private static void SrlwIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr_Un, word: true, immediate: false);

    [Instruction("sraw", "0100000 ..... ..... 101 ..... 0111011", "xd, xs1, xs2")]
    private static int Sraw(Hart h, ref Insn i, int idx) { h.X[i.Rd] = (ulong)(long)((int)h.X[i.Rs1] >> (int)(h.X[i.Rs2] & 31)); return Next(ref i, idx); }
    [Emitter("sraw")]
    private static void SrawIl(RegionEmitter e, in Insn i) => e.Shift(in i, OpCodes.Shr, word: true, immediate: false);

    // Memory ordering: a single hart sees its own accesses in order; across host threads the
    // fence maps to a full host barrier.
    [Instruction("fence", "............ ..... 000 ..... 0001111", "fence")]
    private static int Fence(Hart h, ref Insn i, int idx) { Interlocked.MemoryBarrier(); return Next(ref i, idx); }
}
