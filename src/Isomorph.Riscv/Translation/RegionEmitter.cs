using System.Reflection;
using System.Reflection.Emit;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Emits the IL of one region, and offers the instructions' emitters (<see cref="EmitterAttribute"/>)
/// what they need: guest registers as IL locals (<see cref="LoadX"/>, <see cref="StoreX"/>), the pc
/// of the current instruction, branches, jumps, loads and stores with their trap paths.
/// </summary>
/// <remarks>
/// The method is <c>void (Region self, Hart h)</c>. Registers the region uses are loaded into locals
/// on entry and those it writes are stored back at every exit. A local <c>n</c> counts retired
/// instructions; it is brought up to date at block boundaries (labels, branches, exits, calls) from a
/// count kept while emitting, so straight-line code costs nothing for counting. Budget, stop and
/// interrupt checks run at back edges and after stores; a store that changes the region's own page
/// (self-modifying code) ends the region after it.
/// </remarks>
public sealed class RegionEmitter
{
    private static readonly FieldInfo XField = typeof(Hart).GetField(nameof(Hart.X))!;
    private static readonly FieldInfo InstretField = typeof(Hart).GetField(nameof(Hart.Instret))!;
    private static readonly FieldInfo PcField = typeof(Hart).GetField(nameof(Hart.Pc))!;
    private static readonly FieldInfo PageBaseField = typeof(Hart).GetField(nameof(Hart.CurrentPageBase), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo StopAtField = typeof(Hart).GetField(nameof(Hart._stopAt), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo InsnsField = typeof(Region).GetField(nameof(Region.Insns), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo GenerationField = typeof(DecodedPage).GetField(nameof(DecodedPage.Generation), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly MethodInfo PageGetter = typeof(Region).GetProperty(nameof(Region.Page), BindingFlags.Instance | BindingFlags.NonPublic)!.GetMethod!;
    private static readonly MethodInfo RaisePendingMethod = typeof(Hart).GetMethod(nameof(Hart.RaisePending))!;
    private static readonly MethodInfo LoadMethod = typeof(Hart).GetMethods().Single(m => m.Name == nameof(Hart.Load) && m.IsGenericMethod);
    private static readonly MethodInfo StoreMethod = typeof(Hart).GetMethods().Single(m => m.Name == nameof(Hart.Store) && m.IsGenericMethod);

    private readonly ILGenerator _il;
    private readonly (int Idx, Insn Insn, InstructionDefinition Def)[] _code;
    private readonly int _generation;
    private readonly uint _used, _written;
    private readonly LocalBuilder?[] _x = new LocalBuilder?[32];
    private readonly LocalBuilder _xBase, _n, _entry, _pageBase, _nextPc, _trapCount, _trapIdx, _result;
    private readonly Dictionary<Type, LocalBuilder> _temps = [];
    private readonly Dictionary<int, Label> _labels = [];
    private readonly List<Action> _stubs = [];
    private readonly Label _exit, _trapExit, _body, _prologue;
    private int _pending;
    private int _k;

    /// <summary>The IL generator, for emitters that need more than the helpers.</summary>
    public ILGenerator Il => _il;

    /// <summary>The slot (halfword index within the page) of the instruction being emitted.</summary>
    public int Idx => _code[_k].Idx;

    internal RegionEmitter(ILGenerator il, (int Idx, Insn Insn, InstructionDefinition Def)[] code, int generation)
    {
        _il = il;
        _code = code;
        _generation = generation;
        foreach (var (idx, insn, def) in code)
        {
            if (def.Emitter is null) continue;
            _used |= Bit(insn.Rs1) | Bit(insn.Rs2) | Bit(insn.Rd);
            _written |= Bit(insn.Rd);
            if (def.Flow is ControlFlow.Branch or ControlFlow.Jump)
            {
                int target = idx + (int)(insn.Imm >> 1);
                if (Array.FindIndex(code, c => c.Idx == target) >= 0) _labels.TryAdd(target, il.DefineLabel());
            }
        }
        for (int r = 1; r < 32; r++)
            if ((_used & (1u << r)) != 0) _x[r] = il.DeclareLocal(typeof(ulong));
        _xBase = il.DeclareLocal(typeof(ulong*));
        _n = il.DeclareLocal(typeof(int));
        _entry = il.DeclareLocal(typeof(long));
        _pageBase = il.DeclareLocal(typeof(ulong));
        _nextPc = il.DeclareLocal(typeof(ulong));
        _trapCount = il.DeclareLocal(typeof(int));
        _trapIdx = il.DeclareLocal(typeof(int));
        _result = il.DeclareLocal(typeof(int));
        _exit = il.DefineLabel();
        _trapExit = il.DefineLabel();
        _body = il.DefineLabel();
        _prologue = il.DefineLabel();
    }

    private static uint Bit(int r) => r is > 0 and < 32 ? 1u << r : 0;

    /// <summary>Emits the whole region.</summary>
    internal void EmitRegion()
    {
        _il.Emit(OpCodes.Br, _prologue);
        _il.MarkLabel(_body);
        for (_k = 0; _k < _code.Length; _k++)
        {
            var (idx, insn, def) = _code[_k];
            if (_labels.TryGetValue(idx, out var label))
            {
                FlushCount(0);
                _il.MarkLabel(label);
            }
            if (def.Emitter is { } emit) emit(this, in insn);
            else EmitCall();
            _pending++;
        }
        // Falling off the end: continue after the last instruction.
        var last = _code[^1];
        ExitTo(last.Idx + last.Insn.Slots, _pending);
        foreach (var stub in _stubs) stub();
        EmitExitAndTrapPaths();
        EmitPrologue();
    }

    // ---- Registers ----

    /// <summary>Pushes x<paramref name="r"/> (an unsigned 64-bit value; x0 reads zero).</summary>
    public void LoadX(int r)
    {
        if (r is 0 or Hart.ZeroSink) _il.Emit(OpCodes.Ldc_I8, 0L);
        else _il.Emit(OpCodes.Ldloc, _x[r] ?? throw new InvalidOperationException($"x{r} was not declared as used"));
    }

    /// <summary>Pops the value on the stack into x<paramref name="rd"/> (discarded for x0).</summary>
    public void StoreX(int rd)
    {
        if (rd is 0 or Hart.ZeroSink) _il.Emit(OpCodes.Pop);
        else _il.Emit(OpCodes.Stloc, _x[rd] ?? throw new InvalidOperationException($"x{rd} was not declared as written"));
    }

    /// <summary>Pushes a 64-bit constant.</summary>
    public void Constant(long value) => _il.Emit(OpCodes.Ldc_I8, value);

    /// <summary>Pushes the pc of the current instruction.</summary>
    public void Pc() => PcAt(Idx);

    private void PcAt(long byteOffsetOverHalf)
    {
        _il.Emit(OpCodes.Ldloc, _pageBase);
        _il.Emit(OpCodes.Ldc_I8, byteOffsetOverHalf * 2);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>Sign-extends the low 32 bits of the value on the stack (the W instructions' results).</summary>
    public void SignExtendWord()
    {
        _il.Emit(OpCodes.Conv_I4);
        _il.Emit(OpCodes.Conv_I8);
    }

    /// <summary>rd = rs1 op rs2.</summary>
    public void Binary(in Insn i, OpCode op, bool word = false)
    {
        LoadX(i.Rs1);
        LoadX(i.Rs2);
        _il.Emit(op);
        if (word) SignExtendWord();
        StoreX(i.Rd);
    }

    /// <summary>rd = rs1 op imm.</summary>
    public void BinaryImmediate(in Insn i, OpCode op, bool word = false)
    {
        LoadX(i.Rs1);
        Constant(i.Imm);
        _il.Emit(op);
        if (word) SignExtendWord();
        StoreX(i.Rd);
    }

    /// <summary>rd = rs1 shifted by rs2 (masked to 6 bits, or 5 for the W forms, which shift the low word).</summary>
    public void Shift(in Insn i, OpCode op, bool word, bool immediate)
    {
        LoadX(i.Rs1);
        if (word) _il.Emit(OpCodes.Conv_U4);
        if (immediate) _il.Emit(OpCodes.Ldc_I4, (int)i.Imm);
        else
        {
            LoadX(i.Rs2);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Ldc_I4, word ? 31 : 63);
            _il.Emit(OpCodes.And);
        }
        _il.Emit(op);
        if (word) _il.Emit(OpCodes.Conv_I8);
        StoreX(i.Rd);
    }

    /// <summary>rd = (rs1 compare rs2-or-imm) ? 1 : 0, with <paramref name="op"/> clt or clt.un.</summary>
    public void SetLessThan(in Insn i, OpCode op, bool immediate)
    {
        LoadX(i.Rs1);
        if (immediate) Constant(i.Imm);
        else LoadX(i.Rs2);
        _il.Emit(op);
        _il.Emit(OpCodes.Conv_U8);
        StoreX(i.Rd);
    }

    /// <summary>rd = <paramref name="helper"/>(rs1, rs2): a static <c>ulong (ulong, ulong)</c> that the semantics use too.</summary>
    public void CallBinary(in Insn i, MethodInfo helper)
    {
        LoadX(i.Rs1);
        LoadX(i.Rs2);
        _il.Emit(OpCodes.Call, helper);
        StoreX(i.Rd);
    }

    // ---- Control flow ----

    /// <summary>A conditional branch to pc + imm: <paramref name="branchIfTaken"/> is beq, bne.un, blt, bge, blt.un or bge.un on rs1, rs2.</summary>
    public void Branch(in Insn i, OpCode branchIfTaken)
    {
        FlushCount(1); // the branch retires whether taken or not
        int target = Idx + (int)(i.Imm >> 1);
        LoadX(i.Rs1);
        LoadX(i.Rs2);
        _il.Emit(branchIfTaken, TakenPath(target));
        _pending = -1; // the branch is counted; the loop's ++ brings this back to 0
    }

    /// <summary>jal: rd = pc + length, continue at pc + imm.</summary>
    public void Jump(in Insn i)
    {
        Pc();
        Constant(i.Length);
        _il.Emit(OpCodes.Add);
        StoreX(i.Rd);
        FlushCount(1);
        _il.Emit(OpCodes.Br, TakenPath(Idx + (int)(i.Imm >> 1)));
        _pending = -1;
    }

    /// <summary>jalr: continue at (rs1 + imm) &amp; ~1 (computed before rd = pc + length is written), leaving the region.</summary>
    public void JumpIndirect(in Insn i)
    {
        LoadX(i.Rs1);
        Constant(i.Imm);
        _il.Emit(OpCodes.Add);
        Constant(~1L);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Stloc, _nextPc);
        Pc();
        Constant(i.Length);
        _il.Emit(OpCodes.Add);
        StoreX(i.Rd);
        FlushCount(1);
        _il.Emit(OpCodes.Br, _exit);
        _pending = -1;
    }

    /// <summary>
    /// Where a taken branch to slot <paramref name="target"/> goes (with the count flushed): the
    /// target's label; through a budget check when it is a back edge; out of the region otherwise.
    /// </summary>
    private Label TakenPath(int target)
    {
        if (!_labels.TryGetValue(target, out var label)) return Stub(() => ExitTo(target, 0));
        if (target > Idx) return label;
        return Stub(() =>
        {
            // A back edge: another pass may run up to the region's length; stop first if the budget
            // would be passed or a stop, flush or interrupt check was requested (_stopAt = 0).
            _il.Emit(OpCodes.Ldloc, _entry);
            _il.Emit(OpCodes.Ldloc, _n);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldc_I8, (long)_code.Length);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, StopAtField);
            _il.Emit(OpCodes.Ble, label);
            ExitTo(target, 0);
        });
    }

    // ---- Memory ----

    /// <summary>rd = the <typeparamref name="T"/> at rs1 + imm, sign- or zero-extended by T; a fault traps precisely.</summary>
    public void Load<T>(in Insn i) where T : unmanaged
    {
        var value = Temp(typeof(T));
        _il.Emit(OpCodes.Ldarg_1);
        Address(in i);
        _il.Emit(OpCodes.Ldloca, value);
        _il.Emit(OpCodes.Call, LoadMethod.MakeGenericMethod(typeof(T)));
        _il.Emit(OpCodes.Brfalse, TrapPath());
        _il.Emit(OpCodes.Ldloc, value);
        bool signed = typeof(T) == typeof(sbyte) || typeof(T) == typeof(short) || typeof(T) == typeof(int) || typeof(T) == typeof(long);
        _il.Emit(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        StoreX(i.Rd);
    }

    /// <summary>Stores rs2's low <typeparamref name="T"/> at rs1 + imm; a fault traps precisely; a store into this region's page ends the region after it.</summary>
    public void Store<T>(in Insn i) where T : unmanaged
    {
        _il.Emit(OpCodes.Ldarg_1);
        Address(in i);
        LoadX(i.Rs2);
        if (typeof(T) == typeof(byte)) _il.Emit(OpCodes.Conv_U1);
        else if (typeof(T) == typeof(ushort)) _il.Emit(OpCodes.Conv_U2);
        else if (typeof(T) == typeof(uint)) _il.Emit(OpCodes.Conv_U4);
        _il.Emit(OpCodes.Call, StoreMethod.MakeGenericMethod(typeof(T)));
        _il.Emit(OpCodes.Brfalse, TrapPath());
        CheckAfterStore();
    }

    private void Address(in Insn i)
    {
        LoadX(i.Rs1);
        Constant(i.Imm);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>After a store: leave (after this instruction) when the page's code changed or someone asked the hart to stop or check interrupts.</summary>
    private void CheckAfterStore()
    {
        int next = Idx + _code[_k].Insn.Slots, count = _pending + 1;
        var leave = Stub(() => ExitTo(next, count));
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Call, PageGetter);
        _il.Emit(OpCodes.Ldfld, GenerationField);
        _il.Emit(OpCodes.Ldc_I4, _generation);
        _il.Emit(OpCodes.Bne_Un, leave);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, StopAtField);
        _il.Emit(OpCodes.Brfalse, leave);
    }

    /// <summary>A path that raises the exception a failed access left pending, for the current instruction.</summary>
    private Label TrapPath()
    {
        int count = _pending, idx = Idx;
        return Stub(() =>
        {
            _il.Emit(OpCodes.Ldc_I4, count);
            _il.Emit(OpCodes.Stloc, _trapCount);
            _il.Emit(OpCodes.Ldc_I4, idx);
            _il.Emit(OpCodes.Stloc, _trapIdx);
            _il.Emit(OpCodes.Br, _trapExit);
        });
    }

    // ---- Instructions without an emitter: a call to their semantics ----

    private void EmitCall()
    {
        var (idx, insn, def) = _code[_k];
        FlushCount(0);
        WriteBack();
        SetInstret();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, InsnsField);
        _il.Emit(OpCodes.Ldc_I4, _k);
        _il.Emit(OpCodes.Ldelema, typeof(Insn));
        _il.Emit(OpCodes.Ldc_I4, idx);
        _il.Emit(OpCodes.Call, def.Semantics);
        _il.Emit(OpCodes.Stloc, _result);
        // As the interpreter's loop does after every instruction (an exception's Raise took one off).
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, InstretField);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stfld, InstretField);
        _il.Emit(OpCodes.Ldloc, _result);
        _il.Emit(OpCodes.Ldc_I4, idx + insn.Slots);
        _il.Emit(OpCodes.Bne_Un, Stub(() =>
        {
            // It went elsewhere (a trap, a jump, an exit after a CSR write): registers, pc and instret are the semantics' own.
            var done = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _result);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Blt, done);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldloc, _pageBase);
            _il.Emit(OpCodes.Ldloc, _result);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Ldc_I8, 2L);
            _il.Emit(OpCodes.Mul);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stfld, PcField);
            _il.MarkLabel(done);
            _il.Emit(OpCodes.Ret);
        }));
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Ldc_I4_1);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _n);
        _pending = -1;
        LoadRegisters(_used);
        if (def.Flow == ControlFlow.MayTrap) CheckAfterStore(); // atomics and FP stores write memory too
    }

    // ---- Counting, exits, prologue ----

    /// <summary>n += pending + <paramref name="extra"/>; pending = 0.</summary>
    private void FlushCount(int extra)
    {
        int add = _pending + extra;
        if (add != 0)
        {
            _il.Emit(OpCodes.Ldloc, _n);
            _il.Emit(OpCodes.Ldc_I4, add);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _n);
        }
        _pending = 0;
    }

    /// <summary>Leaves for slot <paramref name="target"/> of the page (or beyond it) with <paramref name="count"/> more instructions retired.</summary>
    private void ExitTo(long target, int count)
    {
        int saved = _pending;
        _pending = count;
        FlushCount(0);
        _pending = saved;
        PcAt(target);
        _il.Emit(OpCodes.Stloc, _nextPc);
        _il.Emit(OpCodes.Br, _exit);
    }

    private Label Stub(Action emit)
    {
        var label = _il.DefineLabel();
        _stubs.Add(() =>
        {
            _il.MarkLabel(label);
            emit();
        });
        return label;
    }

    private LocalBuilder Temp(Type type)
    {
        if (!_temps.TryGetValue(type, out var local)) _temps[type] = local = _il.DeclareLocal(type);
        return local;
    }

    private void SetInstret()
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _entry);
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stfld, InstretField);
    }

    private void WriteBack()
    {
        for (int r = 1; r < 32; r++)
        {
            if ((_written & (1u << r)) == 0) continue;
            XAddress(r);
            _il.Emit(OpCodes.Ldloc, _x[r]!);
            _il.Emit(OpCodes.Stind_I8);
        }
    }

    private void LoadRegisters(uint set)
    {
        for (int r = 1; r < 32; r++)
        {
            if ((set & (1u << r)) == 0) continue;
            XAddress(r);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Stloc, _x[r]!);
        }
    }

    private void XAddress(int r)
    {
        _il.Emit(OpCodes.Ldloc, _xBase);
        _il.Emit(OpCodes.Ldc_I4, r * 8);
        _il.Emit(OpCodes.Add);
    }

    private void EmitExitAndTrapPaths()
    {
        // exit: registers back, instret, pc.
        _il.MarkLabel(_exit);
        WriteBack();
        SetInstret();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _nextPc);
        _il.Emit(OpCodes.Stfld, PcField);
        _il.Emit(OpCodes.Ret);

        // trap: instret as the interpreter has it during the instruction; Raise takes one off and the loop's ++ puts it back.
        _il.MarkLabel(_trapExit);
        WriteBack();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _entry);
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Ldloc, _trapCount);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stfld, InstretField);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _trapIdx);
        _il.Emit(OpCodes.Call, RaisePendingMethod);
        _il.Emit(OpCodes.Pop);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, InstretField);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stfld, InstretField);
        _il.Emit(OpCodes.Ret);
    }

    private void EmitPrologue()
    {
        _il.MarkLabel(_prologue);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, XField);
        _il.Emit(OpCodes.Stloc, _xBase);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, InstretField);
        _il.Emit(OpCodes.Stloc, _entry);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, PageBaseField);
        _il.Emit(OpCodes.Stloc, _pageBase);
        LoadRegisters(_used);
        _il.Emit(OpCodes.Br, _body);
    }
}
