using Isomorph.Riscv.Isa;
using Isomorph.Riscv.Translation;

namespace Isomorph.Riscv.Semantics;

/// <summary>
/// RV64A: load-reserved/store-conditional and atomic memory operations. AMOs are host atomic
/// operations on guest RAM, so they are atomic across harts running on different host threads.
/// </summary>
[IsaExtension("A")]
internal static unsafe partial class Rv64A
{
    private static int Next(ref Insn i, int idx) => idx + i.Slots;

    // Load-reserved / store-conditional
    [Instruction("lr.w", "00010 .. 00000 ..... 010 ..... 0101111", "xd, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int LrW(Hart h, ref Insn i, int idx) => LoadReserved(h, ref i, idx, 4);
    [Emitter("lr.w")]
    private static void LrWIl(RegionEmitter e, in Insn i) => e.LoadReserved<int>(in i);

    [Instruction("lr.d", "00010 .. 00000 ..... 011 ..... 0101111", "xd, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int LrD(Hart h, ref Insn i, int idx) => LoadReserved(h, ref i, idx, 8);
    [Emitter("lr.d")]
    private static void LrDIl(RegionEmitter e, in Insn i) => e.LoadReserved<long>(in i);

    [Instruction("sc.w", "00011 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int ScW(Hart h, ref Insn i, int idx) => StoreConditional(h, ref i, idx, 4);
    [Emitter("sc.w")]
    private static void ScWIl(RegionEmitter e, in Insn i) => e.StoreConditional<int>(in i);

    [Instruction("sc.d", "00011 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int ScD(Hart h, ref Insn i, int idx) => StoreConditional(h, ref i, idx, 8);
    [Emitter("sc.d")]
    private static void ScDIl(RegionEmitter e, in Insn i) => e.StoreConditional<long>(in i);

    private static int LoadReserved(Hart h, ref Insn i, int idx, int size)
    {
        ulong address = h.X[i.Rs1];
        if ((address & (ulong)(size - 1)) != 0) return h.Raise(ExceptionCause.LoadAddressMisaligned, address, idx);
        ulong value;
        if (size == 4)
        {
            if (!h.Load(address, out int w)) return h.RaisePending(idx);
            value = (ulong)w;
        }
        else if (!h.Load(address, out value)) return h.RaisePending(idx);
        h.Reserve(address, value, size);
        h.X[i.Rd] = value;
        return Next(ref i, idx);
    }

    private static int StoreConditional(Hart h, ref Insn i, int idx, int size)
    {
        ulong address = h.X[i.Rs1];
        void* host = h.AtomicAddress(address, size);
        if (host == null) return h.RaisePending(idx);
        bool ok = h.TryStoreConditional(address, host, h.X[i.Rs2], size);
        h.X[i.Rd] = ok ? 0ul : 1ul;
        return Next(ref i, idx);
    }

    // Atomic memory operations
    private static int Amo32(Hart h, ref Insn i, int idx, Func<int, int, int> op)
    {
        int* p = (int*)h.AtomicAddress(h.X[i.Rs1], 4);
        if (p == null) return h.RaisePending(idx);
        int operand = (int)h.X[i.Rs2];
        int old;
        do old = Volatile.Read(ref *p);
        while (Interlocked.CompareExchange(ref *p, op(old, operand), old) != old);
        h.X[i.Rd] = (ulong)(long)old;
        return Next(ref i, idx);
    }

    private static int Amo64(Hart h, ref Insn i, int idx, Func<long, long, long> op)
    {
        long* p = (long*)h.AtomicAddress(h.X[i.Rs1], 8);
        if (p == null) return h.RaisePending(idx);
        long operand = (long)h.X[i.Rs2];
        long old;
        do old = Volatile.Read(ref *p);
        while (Interlocked.CompareExchange(ref *p, op(old, operand), old) != old);
        h.X[i.Rd] = (ulong)old;
        return Next(ref i, idx);
    }

    [Instruction("amoswap.w", "00001 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoswapW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (_, b) => b);
    [Emitter("amoswap.w")]
    private static void AmoSwapWIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<int>(in i, RegionEmitter.AtomicOperation.Swap);
    [Instruction("amoadd.w", "00000 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoaddW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => a + b);
    [Emitter("amoadd.w")]
    private static void AmoAddWIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<int>(in i, RegionEmitter.AtomicOperation.Add);
    [Instruction("amoxor.w", "00100 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoxorW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => a ^ b);
    [Instruction("amoand.w", "01100 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoandW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => a & b);
    [Emitter("amoand.w")]
    private static void AmoAndWIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<int>(in i, RegionEmitter.AtomicOperation.And);
    [Instruction("amoor.w", "01000 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoorW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => a | b);
    [Emitter("amoor.w")]
    private static void AmoOrWIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<int>(in i, RegionEmitter.AtomicOperation.Or);
    [Instruction("amomin.w", "10000 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmominW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => Math.Min(a, b));
    [Instruction("amomax.w", "10100 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmomaxW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => Math.Max(a, b));
    [Instruction("amominu.w", "11000 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmominuW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => (int)Math.Min((uint)a, (uint)b));
    [Instruction("amomaxu.w", "11100 .. ..... ..... 010 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmomaxuW(Hart h, ref Insn i, int idx) => Amo32(h, ref i, idx, static (a, b) => (int)Math.Max((uint)a, (uint)b));

    [Instruction("amoswap.d", "00001 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoswapD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (_, b) => b);
    [Emitter("amoswap.d")]
    private static void AmoSwapDIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<long>(in i, RegionEmitter.AtomicOperation.Swap);
    [Instruction("amoadd.d", "00000 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoaddD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => a + b);
    [Emitter("amoadd.d")]
    private static void AmoAddDIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<long>(in i, RegionEmitter.AtomicOperation.Add);
    [Instruction("amoxor.d", "00100 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoxorD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => a ^ b);
    [Instruction("amoand.d", "01100 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoandD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => a & b);
    [Emitter("amoand.d")]
    private static void AmoAndDIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<long>(in i, RegionEmitter.AtomicOperation.And);
    [Instruction("amoor.d", "01000 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmoorD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => a | b);
    [Emitter("amoor.d")]
    private static void AmoOrDIl(RegionEmitter e, in Insn i) => e.AtomicMemoryOperation<long>(in i, RegionEmitter.AtomicOperation.Or);
    [Instruction("amomin.d", "10000 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmominD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => Math.Min(a, b));
    [Instruction("amomax.d", "10100 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmomaxD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => Math.Max(a, b));
    [Instruction("amominu.d", "11000 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmominuD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => (long)Math.Min((ulong)a, (ulong)b));
    [Instruction("amomaxu.d", "11100 .. ..... ..... 011 ..... 0101111", "xd, xs2, (xs1), aqrl", Flow = ControlFlow.MayTrap)]
    private static int AmomaxuD(Hart h, ref Insn i, int idx) => Amo64(h, ref i, idx, static (a, b) => (long)Math.Max((ulong)a, (ulong)b));
}
