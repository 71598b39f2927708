using System.Reflection;
using System.Runtime.CompilerServices;
using System.Reflection.Emit;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Emits the IL of one region, and offers the instructions' emitters (<see cref="EmitterAttribute"/>)
/// what they need: guest registers as IL locals (<see cref="LoadX"/>, <see cref="StoreX"/>), the pc
/// of the current instruction, branches, jumps, loads and stores with their trap paths.
/// </summary>
/// <remarks>
/// The method is <c>Region? (Region self, Hart h)</c>: at its exit it enters, by a tail call, the
/// region the hart's jump cache holds for where it left (<see cref="EmitExitPath"/>), and
/// returns null to the engine when there is none (or it left for the interpreter). Instructions are
/// emitted in the order the region was gathered (<see cref="RegionTranslator"/>), not necessarily
/// in address order; an IL branch to an instruction emitted earlier is a back edge. Registers the region uses are loaded into locals
/// on entry and those it writes are stored back at every exit. A local <c>n</c> holds instret;
/// it is brought up to date at block boundaries (labels, branches, exits, calls) from a
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
    private static readonly FieldInfo InterpreterExitsField = typeof(Region).GetField(nameof(Region.InterpreterExits), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo InsnsField = typeof(Region).GetField(nameof(Region.Insns), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo RunField = typeof(Region).GetField(nameof(Region.Run), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly MethodInfo InvokeMethod = typeof(Func<Hart, Region?>).GetMethod("Invoke")!;
    private static readonly FieldInfo GenerationField = typeof(DecodedPage).GetField(nameof(DecodedPage.Generation), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly MethodInfo PagesGetter = typeof(Region).GetProperty(nameof(Region.Pages), BindingFlags.Instance | BindingFlags.NonPublic)!.GetMethod!;
    private static readonly FieldInfo FetchTlbField = typeof(Hart).GetField("_fetchTlb", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly Type FetchEntryType = typeof(Hart).GetNestedType("FetchEntry", BindingFlags.NonPublic)!;
    private static readonly FieldInfo FetchTagField = FetchEntryType.GetField("Tag")!;
    private static readonly FieldInfo FetchPageField = FetchEntryType.GetField("Page")!;
    private static readonly int FetchTlbSize = (int)typeof(Hart).GetField("FetchTlbSize", BindingFlags.Static | BindingFlags.NonPublic)!.GetRawConstantValue()!;
    private static readonly FieldInfo ReadTlbField = typeof(Hart).GetField("_readTlb", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo WriteTlbField = typeof(Hart).GetField("_writeTlb", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo TlbContextField = typeof(Hart).GetField("_tlbContext", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo DirectBaseField = typeof(Hart).GetField(nameof(Hart._directBase), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo DirectPagesField = typeof(Hart).GetField(nameof(Hart._directPages), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo DirectLimitField = typeof(Hart).GetField(nameof(Hart._directLimit), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo InterpretNextField = typeof(Hart).GetField(nameof(Hart.InterpretNext), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo JumpsField = typeof(Hart).GetField(nameof(Hart.Jumps), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo JumpCacheHitsField = typeof(Hart).GetField(nameof(Hart.JumpCacheHits), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo JumpCacheMissesField = typeof(Hart).GetField(nameof(Hart.JumpCacheMisses), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly MethodInfo LengthGetter = typeof(Region).GetProperty(nameof(Region.Length))!.GetMethod!;
    private static readonly FieldInfo ExitCountsField = typeof(Hart).GetField(nameof(Hart.ExitCounts), BindingFlags.Instance | BindingFlags.NonPublic)!;

    /// <summary>
    /// How many guest registers a region holds in IL locals: the most used ones (a use in a loop of
    /// the region counts <see cref="LoopWeight"/> times for each level of nesting). More than the host has registers and RyuJIT
    /// spills them, loop counters included; the rest are read and written in <see cref="Hart.X"/>.
    /// </summary>
    public const int CachedRegisters = 10;
    private const int LoopWeight = 16;

    private readonly ILGenerator _il;
    private readonly (int Idx, Insn Insn, InstructionDefinition Def)[] _code;
    /// <summary>The slots after the region's calls (jal with a link register) that are in the region: where a return may come back to (<see cref="JumpIndirect"/>).</summary>
    private readonly int[] _returnPoints;
    /// <summary>Where each slot of the region sits in <see cref="_code"/> (its order of emission).</summary>
    private readonly Dictionary<int, int> _position = [];
    /// <summary>The pages the region spans, by their offset in virtual pages from the start's: their index in <see cref="Region.Pages"/>.</summary>
    private readonly Dictionary<int, int> _pageIndex = [];
    /// <summary>The generation each page's code was read at (by index in <see cref="Region.Pages"/>).</summary>
    private readonly int[] _generations;
    /// <summary>More than the start's page: control entering another page checks it first (<see cref="EnterPage"/>).</summary>
    private readonly bool _multiPage;
    private static readonly MethodInfo PeekParcelMethod = typeof(Hart).GetMethod(nameof(Hart.PeekParcel), BindingFlags.Instance | BindingFlags.NonPublic)!;
    private readonly uint _used, _written;
    /// <summary>
    /// For each instruction, the cached registers some path from the region's entry may have
    /// written in their locals and not yet in the register file when it starts (a forward
    /// data flow over the region's branches): what an exit there writes back.
    /// </summary>
    private readonly uint[] _mayBeDirty;
    /// <summary>
    /// The cached registers whose values on entry the region may use (a backward data flow):
    /// read before written on some path, or written back by an exit or a call on a path that has
    /// not written them. Only these are loaded on entry.
    /// </summary>
    private readonly uint _liveOnEntry;
    private readonly LocalBuilder?[] _x = new LocalBuilder?[32];
    private readonly LocalBuilder _fBase, _fa, _fb, _fc, _fr64, _fr32;
    private readonly LocalBuilder _xBase, _n, _nextPc, _result, _address, _tlbEntry, _spill, _operand, _readTlb, _writeTlb, _context, _site;
    private readonly LocalBuilder _directBase, _directPages, _directLimit;
    /// <summary>The virtual base of the page the region was entered at, where that is not a constant (<see cref="_fixedBase"/>).</summary>
    private readonly LocalBuilder? _pageBase;
    /// <summary>In a region of several pages: the pages checked since entry (a bit each), and the hart's fetch TLB.</summary>
    private readonly LocalBuilder? _checkedPages, _fetchTlb;
    /// <summary>Loads and stores go through the hart's direct memory (a process VM's), not its TLBs.</summary>
    private readonly bool _directMemory;
    /// <summary>
    /// The virtual base of the start page when it can be entered at no other (a process VM's code,
    /// where virtual addresses are physical ones): pcs are constants, and no host register holds
    /// the base. Null in a system VM, where a physical page may be mapped at several addresses.
    /// </summary>
    private readonly ulong? _fixedBase;
    private readonly Dictionary<int, Label> _labels = [];
    private readonly bool _countExits;
    private readonly List<Action> _stubs = [];
    private readonly Label _exit, _body, _prologue;
    private int _pending;
    /// <summary>Registers whose locals may differ from the hart's register file at this point of the emission.</summary>
    private uint _dirty;
    private int _k;

    /// <summary>The IL generator, for emitters that need more than the helpers.</summary>
    public ILGenerator Il => _il;

    /// <summary>The slot (halfword index within the page) of the instruction being emitted.</summary>
    public int Idx => _code[_k].Idx;

    /// <param name="il">Where to emit.</param>
    /// <param name="code">The region's instructions by slot, numbered from the start page's base (<see cref="RegionTranslator.Gather"/>).</param>
    /// <param name="offsets">The pages the region spans, by their offset in virtual pages from the start's (0 first).</param>
    /// <param name="generations">The generation each of those pages' code was read at.</param>
    /// <param name="directMemory">Loads and stores go through the hart's direct memory (a process VM's).</param>
    /// <param name="fixedBase">The one virtual address the region's start page can be entered at (a process VM's, whose addresses are not translated), or null.</param>
    /// <param name="countExits">Each exit adds to the hart's count of its kind (<see cref="Hart.ExitCounts"/>).</param>
    internal RegionEmitter(ILGenerator il, (int Idx, Insn Insn, InstructionDefinition Def)[] code, int[] offsets, int[] generations, bool directMemory = false, ulong? fixedBase = null, bool countExits = false)
    {
        _il = il;
        _countExits = countExits;
        _fixedBase = fixedBase;
        _directMemory = directMemory;
        _code = code;
        _generations = generations;
        for (int j = 0; j < offsets.Length; j++) _pageIndex[offsets[j]] = j;
        _multiPage = offsets.Length > 1;
        for (int k = 0; k < code.Length; k++) _position[code[k].Idx] = k;
        _returnPoints = [.. code.Where(c => IsCall(c.Def, in c.Insn))
            .Select(c => c.Idx + c.Insn.Slots).Where(_position.ContainsKey).Distinct()];
        // Loops: a branch, jump or fall-through back to an instruction of the region makes everything
        // from there to it a loop body, one level deeper.
        var loopDepth = new int[code.Length];
        for (int k = 0; k < code.Length; k++)
        {
            var (idx, insn, def) = code[k];
            var targets = new List<int>(2);
            if (def.Emitter is not null && def.Flow is ControlFlow.Branch or ControlFlow.Jump)
                targets.Add(idx + (int)(insn.Imm >> 1));
            if (IsReturn(def, in insn)) targets.AddRange(_returnPoints);
            if (FallThrough(k) is int glued) targets.Add(glued);
            foreach (int target in targets)
            {
                if (!_position.TryGetValue(target, out int at)) continue;
                _labels.TryAdd(target, il.DefineLabel());
                if (at <= k) for (int j = at; j <= k; j++) loopDepth[j]++;
            }
        }
        var weight = new long[32];
        for (int k = 0; k < code.Length; k++)
        {
            var (_, insn, def) = code[k];
            if (def.Emitter is null) continue;
            long w = 1;
            for (int d = 0; d < Math.Min(loopDepth[k], 4); d++) w *= LoopWeight;
            uint x = IntegerRegisters(def, in insn);
            for (int r = 1; r < 32; r++)
                if ((x & (1u << r)) != 0) weight[r] += w;
        }
        // The most used registers live in locals (ties to the lower number, so a region's choice is reproducible).
        foreach (int r in Enumerable.Range(1, 31).Where(r => weight[r] > 1).OrderByDescending(r => weight[r]).ThenBy(r => r).Take(CachedRegisters))
        {
            _used |= 1u << r;
            _x[r] = il.DeclareLocal(typeof(ulong));
        }
        foreach (var (_, insn, def) in code)
            if (def.Emitter is not null && def.Syntax.WritesX) _written |= Bit(insn.Rd) & _used;
        (_mayBeDirty, _liveOnEntry) = RegisterFlow();
        _xBase = il.DeclareLocal(typeof(ulong*));
        _fBase = il.DeclareLocal(typeof(ulong*));
        _fa = il.DeclareLocal(typeof(ulong));
        _fb = il.DeclareLocal(typeof(ulong));
        _fc = il.DeclareLocal(typeof(ulong));
        _fr64 = il.DeclareLocal(typeof(double));
        _fr32 = il.DeclareLocal(typeof(float));
        _n = il.DeclareLocal(typeof(long));
        _readTlb = il.DeclareLocal(typeof(nint));
        _writeTlb = il.DeclareLocal(typeof(nint));
        _context = il.DeclareLocal(typeof(ulong));
        _directBase = il.DeclareLocal(typeof(nint));
        _directPages = il.DeclareLocal(typeof(nint));
        _directLimit = il.DeclareLocal(typeof(ulong));
        if (fixedBase is null) _pageBase = il.DeclareLocal(typeof(ulong));
        _nextPc = il.DeclareLocal(typeof(ulong));
        _result = il.DeclareLocal(typeof(int));
        _address = il.DeclareLocal(typeof(ulong));
        _tlbEntry = il.DeclareLocal(typeof(nint));
        _spill = il.DeclareLocal(typeof(ulong));
        _operand = il.DeclareLocal(typeof(ulong));
        _site = il.DeclareLocal(typeof(int));
        if (_multiPage)
        {
            _checkedPages = il.DeclareLocal(typeof(int));
            _fetchTlb = il.DeclareLocal(FetchEntryType.MakeArrayType());
        }
        _exit = il.DefineLabel();
        _body = il.DefineLabel();
        _prologue = il.DefineLabel();
    }

    private static uint Bit(int r) => r is > 0 and < 32 ? 1u << r : 0;

    /// <summary>
    /// Before an instruction in a page's last slot that straddles into the next virtual page:
    /// leaves for the interpreter (which fetches through the MMU, with its traps) unless the
    /// fetch TLB holds the next page and its first parcel is still the one the region was read with.
    /// </summary>
    private void StraddleGuard(in Insn insn)
    {
        _il.Emit(OpCodes.Ldarg_1);
        PageBaseOf(Idx + insn.Slots);
        _il.Emit(OpCodes.Call, PeekParcelMethod);
        _il.Emit(OpCodes.Ldc_I4, (int)(insn.Raw >> 16));
        _il.Emit(OpCodes.Bne_Un, InterpretedExit());
    }

    /// <summary>Pushes the virtual base of the page the region was entered at: a constant where it can be entered at no other (<see cref="_fixedBase"/>).</summary>
    private void LoadPageBase()
    {
        if (_fixedBase is { } fixedBase) _il.Emit(OpCodes.Ldc_I8, (long)fixedBase);
        else _il.Emit(OpCodes.Ldloc, _pageBase!);
    }

    private static int PageOffset(int idx) => RegionTranslator.PageOffset(idx);

    /// <summary>Pushes the virtual base of the page holding slot <paramref name="idx"/>.</summary>
    private void PageBaseOf(int idx)
    {
        LoadPageBase();
        if (PageOffset(idx) != 0)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)PageOffset(idx) * 4096);
            _il.Emit(OpCodes.Add);
        }
    }

    /// <summary>True when control going from slot <paramref name="from"/> to slot <paramref name="to"/> enters a page other than the start's, which it must check first.</summary>
    private static bool Enters(int from, int to) => PageOffset(to) != PageOffset(from) && PageOffset(to) != 0;

    /// <summary>
    /// Control enters the page of slot <paramref name="idx"/> (not the start's, whose code the
    /// dispatcher or the jump cache vouched for when the region was entered): the first time in a
    /// run of the region, it checks that the fetch TLB maps the page's virtual address to the page
    /// the region was read from (so it is still mapped executable there, in this translation
    /// context: protections reduced, satp and sfence.vma empty the fetch TLB) and that its code has
    /// not changed since; otherwise it goes to <paramref name="fail"/>. Without walking page tables:
    /// a page the fetch TLB does not hold leaves the region, and the dispatcher fetches it.
    /// </summary>
    private void EnterPage(int idx, Label fail)
    {
        int j = _pageIndex[PageOffset(idx)];
        var done = _il.DefineLabel();
        _il.Emit(OpCodes.Ldloc, _checkedPages!);
        _il.Emit(OpCodes.Ldc_I4, 1 << j);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brtrue, done);
        // vpn = the page's virtual base >> 12; its fetch TLB entry must be tagged vpn | context and hold the page.
        PageBaseOf(idx);
        _il.Emit(OpCodes.Ldc_I4, 12);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Stloc, _operand);
        _il.Emit(OpCodes.Ldloc, _fetchTlb!);
        _il.Emit(OpCodes.Ldloc, _operand);
        _il.Emit(OpCodes.Conv_I4);
        _il.Emit(OpCodes.Ldc_I4, FetchTlbSize - 1);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldelema, FetchEntryType);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Ldfld, FetchTagField);
        _il.Emit(OpCodes.Ldloc, _operand);
        _il.Emit(OpCodes.Ldloc, _context);
        _il.Emit(OpCodes.Or);
        var mismatch = _il.DefineLabel();
        _il.Emit(OpCodes.Bne_Un, mismatch);
        // (the entry's page, once it is the region's, for its generation)
        _il.Emit(OpCodes.Ldfld, FetchPageField);
        _il.Emit(OpCodes.Dup);
        PageOf(j);
        var otherPage = _il.DefineLabel();
        _il.Emit(OpCodes.Bne_Un, otherPage);
        _il.Emit(OpCodes.Ldfld, GenerationField);
        _il.Emit(OpCodes.Ldc_I4, _generations[j]);
        _il.Emit(OpCodes.Bne_Un, fail);
        _il.Emit(OpCodes.Ldloc, _checkedPages!);
        _il.Emit(OpCodes.Ldc_I4, 1 << j);
        _il.Emit(OpCodes.Or);
        _il.Emit(OpCodes.Stloc, _checkedPages!);
        _il.Emit(OpCodes.Br, done);
        _il.MarkLabel(mismatch);
        _il.Emit(OpCodes.Pop);
        _il.Emit(OpCodes.Br, fail);
        _il.MarkLabel(otherPage); // (not the mismatch's path: the stack holds a page here, an entry's address there)
        _il.Emit(OpCodes.Pop);
        _il.Emit(OpCodes.Br, fail);
        _il.MarkLabel(done);
    }

    /// <summary>Pushes page <paramref name="j"/> of the region (<see cref="Region.Pages"/>).</summary>
    private void PageOf(int j)
    {
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Call, PagesGetter);
        _il.Emit(OpCodes.Ldc_I4, j);
        _il.Emit(OpCodes.Ldelem_Ref);
    }

    /// <summary>A return: jalr x0, 0(ra), as compilers emit it (ret, c.jr ra). (The decoder sends a destination x0 to <see cref="Hart.ZeroSink"/>.)</summary>
    internal static bool IsReturn(InstructionDefinition def, in Insn insn) =>
        def.Emitter is not null && def.Flow == ControlFlow.IndirectJump && insn.Rd is (0 or Hart.ZeroSink) && insn.Rs1 == 1 && insn.Imm == 0;

    /// <summary>A call: jal with a link register (not <c>j</c>, whose destination x0 the decoder sends to <see cref="Hart.ZeroSink"/>).</summary>
    internal static bool IsCall(InstructionDefinition def, in Insn insn) =>
        def.Emitter is not null && def.Flow == ControlFlow.Jump && insn.Rd is not (0 or Hart.ZeroSink);

    /// <summary>
    /// The slot instruction <paramref name="k"/> falls through to when that is not the next
    /// instruction of the region (the region's last one, or one before a followed jump's target);
    /// null when it falls through to the next one or does not fall through at all.
    /// </summary>
    private int? FallThrough(int k)
    {
        var (idx, insn, def) = _code[k];
        if (def.Flow is ControlFlow.Jump or ControlFlow.IndirectJump) return null;
        int next = idx + insn.Slots;
        return k + 1 < _code.Length && _code[k + 1].Idx == next ? null : next;
    }

    /// <summary>True when instruction <paramref name="k"/> falls through to the next instruction of the region (which follows it in the page).</summary>
    private bool FallsInto(int k) =>
        _code[k].Def.Flow is not (ControlFlow.Jump or ControlFlow.IndirectJump) && FallThrough(k) is null && k + 1 < _code.Length;

    /// <summary>The integer registers an instruction names, by its operand syntax (its rd and rs2 may be FP registers).</summary>
    private static uint IntegerRegisters(InstructionDefinition def, in Insn insn)
    {
        uint set = 0;
        foreach (var op in def.Syntax.Operands)
            set |= op switch
            {
                Operand.Xd => Bit(insn.Rd),
                Operand.Xs1 or Operand.MemImm or Operand.MemSImm or Operand.MemReg => Bit(insn.Rs1),
                Operand.Xs2 => Bit(insn.Rs2),
                _ => 0,
            };
        return set;
    }

    /// <summary>The positions in <see cref="_code"/> control may go to from instruction <paramref name="k"/> without leaving the region.</summary>
    private IEnumerable<int> Successors(int k)
    {
        var (idx, insn, def) = _code[k];
        if (def.Flow is not (ControlFlow.Jump or ControlFlow.IndirectJump))
        {
            int next = idx + insn.Slots;
            if (k + 1 < _code.Length && _code[k + 1].Idx == next) yield return k + 1;
            else if (_position.TryGetValue(next, out int at)) yield return at;
        }
        if (def.Emitter is not null && def.Flow is ControlFlow.Branch or ControlFlow.Jump
            && _position.TryGetValue(idx + (int)(insn.Imm >> 1), out int target))
            yield return target;
        if (IsReturn(def, in insn))
            foreach (int point in _returnPoints) yield return _position[point];
    }

    /// <summary>
    /// <see cref="_mayBeDirty"/> and <see cref="_liveOnEntry"/>. An emitted instruction that writes
    /// rd makes its local dirty; a call to semantics first writes the dirty locals back (nothing is
    /// dirty after it) and reloads what it may have changed (rd, or every local after a
    /// <c>ChangesState</c>). Any instruction may leave the region before or after it runs (a
    /// memory access off its inline path, a branch out), writing back what may be dirty there,
    /// so a local written on one path to an exit but not on another must hold its entry value.
    /// </summary>
    private (uint[] MayBeDirty, uint LiveOnEntry) RegisterFlow()
    {
        int n = _code.Length;
        var successors = new int[n][];
        var reads = new uint[n];
        var writes = new uint[n];
        var calls = new bool[n];
        for (int k = 0; k < n; k++)
        {
            var (_, insn, def) = _code[k];
            successors[k] = [.. Successors(k)];
            calls[k] = def.Emitter is null;
            if (calls[k])
                writes[k] = def.Flow == ControlFlow.ChangesState ? _used : def.Syntax.WritesX ? Bit(insn.Rd) & _used : 0;
            else
            {
                if (def.Syntax.Operands.Any(o => o is Operand.Xs1 or Operand.MemImm or Operand.MemSImm or Operand.MemReg)) reads[k] |= Bit(insn.Rs1) & _used;
                if (def.Syntax.Operands.Contains(Operand.Xs2)) reads[k] |= Bit(insn.Rs2) & _used;
                writes[k] = def.Syntax.WritesX ? Bit(insn.Rd) & _used : 0;
            }
        }
        // Forward: what may be dirty where each instruction starts (nothing on entry).
        var dirty = new uint[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int k = 0; k < n; k++)
            {
                uint after = calls[k] ? 0 : dirty[k] | writes[k];
                foreach (int s in successors[k])
                    if ((dirty[s] | after) != dirty[s])
                    {
                        dirty[s] |= after;
                        changed = true;
                    }
            }
        }
        // Backward: what each instruction may use of the locals' values before they are written.
        var live = new uint[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int k = n - 1; k >= 0; k--)
            {
                uint after = 0;
                foreach (int s in successors[k]) after |= live[s];
                uint before = reads[k] | dirty[k] | (after & ~writes[k]);
                if (before != live[k])
                {
                    live[k] = before;
                    changed = true;
                }
            }
        }
        return (dirty, live[0]);
    }

    /// <summary>Emits the whole region.</summary>
    internal void EmitRegion()
    {
        _il.Emit(OpCodes.Br, _prologue);
        _il.MarkLabel(_body);
        for (_k = 0; _k < _code.Length; _k++)
        {
            var (idx, insn, def) = _code[_k];
            // Falling through from the instruction before into another page: that page is checked first.
            if (_k > 0 && FallsInto(_k - 1) && Enters(_code[_k - 1].Idx, idx))
            {
                int pending = _pending;
                EnterPage(idx, Stub(() => ExitTo(idx, pending, RegionExit.PageCheck)));
            }
            if (_labels.TryGetValue(idx, out var label))
            {
                FlushCount(0);
                _il.MarkLabel(label);
                _dirty = _mayBeDirty[_k]; // control may come here from elsewhere in the region
                _checkedBases = 0; // and with other bases checked, or none
            }
            if ((idx & (DecodedPage.SlotCount - 1)) == DecodedPage.SlotCount - 1 && insn.Slots == 2) StraddleGuard(in insn);
            if (def.Emitter is { } emit) emit(this, in insn);
            else
            {
                EmitCall();
                _checkedBases = 0; // (a system call may have unmapped or protected anything)
            }
            if (def.Syntax.WritesX) ForgetCheckedBase(insn.Rd); // (every write of an x register is to the instruction's rd)
            _pending++;
            // Falling through to an instruction that is not the next one here: to it, or out of the region.
            if (FallThrough(_k) is int next)
            {
                if (_labels.ContainsKey(next))
                {
                    FlushCount(0);
                    _il.Emit(OpCodes.Br, TakenPath(next));
                }
                else ExitTo(next, _pending, RegionExit.FallThrough);
                _pending = 0;
            }
        }
        for (int s = 0; s < _stubs.Count; s++) _stubs[s](); // a stub may add more
        EmitExitPath();
        EmitPrologue();
    }

    // ---- Registers ----

    /// <summary>Pushes x<paramref name="r"/> (an unsigned 64-bit value; x0 reads zero): its local, or the hart's register file.</summary>
    public void LoadX(int r)
    {
        if (r is 0 or Hart.ZeroSink) _il.Emit(OpCodes.Ldc_I8, 0L);
        else if (_x[r] is { } local) _il.Emit(OpCodes.Ldloc, local);
        else
        {
            XAddress(r);
            _il.Emit(OpCodes.Ldind_I8);
        }
    }

    /// <summary>Pops the value on the stack into x<paramref name="rd"/> (discarded for x0).</summary>
    public void StoreX(int rd)
    {
        if (rd is 0 or Hart.ZeroSink) _il.Emit(OpCodes.Pop);
        else if (_x[rd] is { } local)
        {
            _il.Emit(OpCodes.Stloc, local);
            _dirty |= 1u << rd;
        }
        else
        {
            _il.Emit(OpCodes.Stloc, _spill);
            XAddress(rd);
            _il.Emit(OpCodes.Ldloc, _spill);
            _il.Emit(OpCodes.Stind_I8);
        }
    }

    /// <summary>Pushes a 64-bit constant.</summary>
    public void Constant(long value) => _il.Emit(OpCodes.Ldc_I8, value);

    /// <summary>Pushes the pc of the current instruction.</summary>
    public void Pc() => PcAt(Idx);

    private void PcAt(long byteOffsetOverHalf)
    {
        LoadPageBase();
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

    /// <summary>rd = <paramref name="helper"/>(rs1, imm): a static <c>ulong (ulong, ulong)</c> that the semantics use too.</summary>
    public void CallBinaryImmediate(in Insn i, MethodInfo helper)
    {
        LoadX(i.Rs1);
        Constant(i.Imm);
        _il.Emit(OpCodes.Call, helper);
        StoreX(i.Rd);
    }

    /// <summary>rd = <paramref name="helper"/>(rs1): a static <c>ulong (ulong)</c> that the semantics use too.</summary>
    public void CallUnary(in Insn i, MethodInfo helper)
    {
        LoadX(i.Rs1);
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
    /// <remarks>
    /// A return (<c>ret</c>) goes on in the region when it comes back after one of the region's
    /// calls to a function the region holds: its target is compared with each such return point.
    /// </remarks>
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
        if (IsReturn(_code[_k].Def, in i))
            foreach (int point in _returnPoints)
            {
                _il.Emit(OpCodes.Ldloc, _nextPc);
                PcAt(point);
                _il.Emit(OpCodes.Beq, TakenPath(point));
            }
        CountExit(IsReturn(_code[_k].Def, in i) ? RegionExit.Return : i.Rd == 1 ? RegionExit.IndirectCall : RegionExit.IndirectJump);
        _il.Emit(OpCodes.Br, ExitWritingBack(_dirty, toInterpreter: false));
        _pending = -1;
    }

    /// <summary>
    /// Where a taken branch to slot <paramref name="target"/> goes (with the count flushed): the
    /// target's label; through a budget check when it is a back edge; out of the region otherwise.
    /// </summary>
    private Label TakenPath(int target)
    {
        if (!_labels.TryGetValue(target, out var label))
        {
            var (idx, insn, def) = _code[_k];
            var kind = def.Flow == ControlFlow.Branch ? (PageOffset(target) != PageOffset(idx) ? RegionExit.BranchAcross : RegionExit.Branch)
                : IsCall(def, in insn) ? RegionExit.Call : def.Flow == ControlFlow.Jump ? RegionExit.Jump : RegionExit.FallThrough;
            return Stub(() => ExitTo(target, 0, kind));
        }
        var path = _position[target] > _k ? label : Stub(() =>
        {
            // A back edge: another pass may run up to the region's length; stop first if the budget
            // would be passed or a stop, flush or interrupt check was requested (_stopAt = 0).
            _il.Emit(OpCodes.Ldloc, _n);
            _il.Emit(OpCodes.Ldc_I8, (long)_code.Length);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, StopAtField);
            _il.Emit(OpCodes.Ble, label);
            ExitTo(target, 0, RegionExit.Budget);
        });
        if (!Enters(Idx, target)) return path;
        return Stub(() =>
        {
            EnterPage(target, Stub(() => ExitTo(target, 0, RegionExit.PageCheck)));
            _il.Emit(OpCodes.Br, path);
        });
    }

    // ---- Memory ----

    /// <summary>
    /// rd = the <typeparamref name="T"/> at rs1 + imm, sign- or zero-extended by T: inline, the read
    /// TLB's compare and a host load (as <see cref="Hart.Load{T}"/> does). Anything else — a TLB
    /// miss, a device, an access that straddles a page, a fault — leaves the region before the
    /// instruction for the interpreter to run it (<see cref="InterpretedExit"/>), so a region calls
    /// nothing on its memory paths and RyuJIT keeps the guest's registers in host registers.
    /// </summary>
    public void Load<T>(in Insn i) where T : unmanaged
    {
        Lookup<T>(in i, store: false, InterpretedExit());
        HostAddress();
        _il.Emit(OpCodes.Unaligned, (byte)1);
        _il.Emit(OpCodes.Ldobj, typeof(T));
        bool signed = typeof(T) == typeof(sbyte) || typeof(T) == typeof(short) || typeof(T) == typeof(int) || typeof(T) == typeof(long);
        _il.Emit(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        StoreX(i.Rd);
    }

    /// <summary>
    /// Stores rs2's low <typeparamref name="T"/> at rs1 + imm: inline, the write TLB's compare and
    /// a host store. Pages in the write TLB are plain RAM without decoded code, so the store can
    /// neither change code nor reach a device; anything else leaves the region before the
    /// instruction for the interpreter (<see cref="InterpretedExit"/>).
    /// </summary>
    public void Store<T>(in Insn i) where T : unmanaged
    {
        Lookup<T>(in i, store: true, InterpretedExit());
        HostAddress();
        StoreValue<T>(i.Rs2);
        _il.Emit(OpCodes.Unaligned, (byte)1);
        _il.Emit(OpCodes.Stobj, typeof(T));
    }

    /// <summary>
    /// address = rs1 + imm, and a branch to <paramref name="slow"/> unless the access may go to the
    /// host at once: through direct memory in a process VM (<see cref="DirectLookup{T}"/>), else the TLB.
    /// </summary>
    private void Lookup<T>(in Insn i, bool store, Label slow) where T : unmanaged
    {
        LoadX(i.Rs1);
        Constant(i.Imm);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _address);
        if (_directMemory) DirectCheck<T>(i.Rs1, i.Imm, store, slow);
        else TlbLookup<T>(store ? _writeTlb : _readTlb, slow);
    }

    /// <summary>
    /// For each base register and kind of access (loads, then stores: bit r, bit 32 + r): set while
    /// an access of that kind through the register was checked earlier on this stretch of
    /// straight-line code (no label since: control came only from there) and the register has not
    /// been written since. <see cref="_checkedPosition"/> then holds where rs1 + <see cref="_checkedOffset"/>
    /// lies from the base of the page that check passed for.
    /// </summary>
    private ulong _checkedBases;
    private readonly LocalBuilder?[] _checkedPosition = new LocalBuilder?[64];
    private readonly long[] _checkedOffset = new long[64];

    /// <summary>Forgets the checked pages of <paramref name="r"/>'s accesses (it is written).</summary>
    private void ForgetCheckedBase(int r)
    {
        if (r is > 0 and < 32) _checkedBases &= ~(1ul << r | 1ul << (32 + r));
    }

    /// <summary>
    /// A direct access's check (<see cref="DirectLookup{T}"/>), done once per base register, page and
    /// kind of access on a stretch of straight-line code: where an access of the same kind through
    /// the same, unchanged, register was checked before, this one is checked by its distance from that
    /// one alone: if it lies in the same page, the page is below the limit and permits it. (A page's
    /// bits are taken back by system calls, a debugger's watch and another hart decoding the page:
    /// none runs on this hart while it is in a region, and what another thread does meanwhile is
    /// a race its guest must order, as with the full check's own window; an unmapped host page
    /// stays readable, as zeros.) A structure's fields, a stack frame's slots: one check for all.
    /// Else the full check, out of line.
    /// </summary>
    private void DirectCheck<T>(int rs1, long imm, bool store, Label slow) where T : unmanaged
    {
        byte bit = store ? DirectMemory.Store : DirectMemory.Load;
        int key = rs1 + (store ? 32 : 0);
        bool tracked = rs1 is > 0 and < 32;
        if (tracked && (_checkedBases & 1ul << key) != 0)
        {
            // (rs1 + imm) - checked page's base = position + (imm - offset), within [0, 4096 - size].
            var inPage = _il.DefineLabel();
            var elsewhere = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _checkedPosition[key]!);
            Constant(imm - _checkedOffset[key]);
            _il.Emit(OpCodes.Add);
            Constant(4096 - Unsafe.SizeOf<T>());
            _il.Emit(OpCodes.Bgt_Un, elsewhere);
            _il.MarkLabel(inPage);
            _stubs.Add(() =>
            {
                _il.MarkLabel(elsewhere);
                DirectLookup<T>(bit, slow);
                _il.Emit(OpCodes.Br, inPage);
            });
            return;
        }
        DirectLookup<T>(bit, slow);
        if (!tracked) return;
        var position = _checkedPosition[key] ??= _il.DeclareLocal(typeof(long));
        _il.Emit(OpCodes.Ldloc, _address);
        Constant(0xFFF);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Stloc, position);
        _checkedOffset[key] = imm;
        _checkedBases |= 1ul << key;
    }

    /// <summary>
    /// Branches to <paramref name="slow"/> unless the address is below the direct memory's limit
    /// (0 while the hart may not go direct), the access is aligned (so it stays in its page) and
    /// the page's byte has <paramref name="bit"/> (<see cref="DirectMemory"/>).
    /// </summary>
    /// <remarks>
    /// The limit and the alignment are one compare: a misaligned address's low bits, moved to the
    /// top, put it above any limit (direct memory spans less than 2^61 bytes). Each branch is a
    /// basic block more for RyuJIT to compile, and a region has one check for most of its accesses.
    /// </remarks>
    private void DirectLookup<T>(byte bit, Label slow) where T : unmanaged
    {
        _il.Emit(OpCodes.Ldloc, _address);
        if (Unsafe.SizeOf<T>() > 1)
        {
            // Misaligned (it might straddle into the next page): the slow path. Compilers keep
            // accesses aligned; a check of the straddle itself measured 5-10% slower on the kernels.
            _il.Emit(OpCodes.Ldloc, _address);
            Constant(Unsafe.SizeOf<T>() - 1);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Ldc_I4, 61);
            _il.Emit(OpCodes.Shl);
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Ldloc, _directLimit);
        _il.Emit(OpCodes.Bge_Un, slow);
        _il.Emit(OpCodes.Ldloc, _directPages);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I4, 12);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldind_U1);
        _il.Emit(OpCodes.Ldc_I4, (int)bit);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brfalse, slow);
    }

    /// <summary>Pushes the host address of the access: direct memory's base, or the TLB entry's addend, plus the guest address.</summary>
    private void HostAddress()
    {
        if (_directMemory)
        {
            _il.Emit(OpCodes.Ldloc, _directBase);
            _il.Emit(OpCodes.Ldloc, _address);
            _il.Emit(OpCodes.Conv_I);
            _il.Emit(OpCodes.Add);
            return;
        }
        _il.Emit(OpCodes.Ldloc, _tlbEntry);
        _il.Emit(OpCodes.Ldc_I4_8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldind_I);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>
    /// A path that leaves the region before the current instruction with <see cref="Hart.InterpretNext"/>
    /// set: the engine interprets that one instruction (the full access path, with its traps,
    /// devices and code invalidation) and goes on. Out of line, it only numbers its place (a site of
    /// <see cref="InterpreterExits"/>: the slot and the instructions retired before it since the
    /// count was last brought up to date) and goes on to the region's shared path by what that
    /// writes back, which finds the rest in the region's table: nearly every access of a region has
    /// such a path, and RyuJIT's time grows with the code of each.
    /// </summary>
    private Label InterpretedExit()
    {
        int site = _interpreterSites.Count;
        _interpreterSites.Add((long)Idx << 32 | (uint)_pending);
        return Stub(() =>
        {
            CountExit(RegionExit.Interpreter);
            _il.Emit(OpCodes.Ldc_I4, site);
            _il.Emit(OpCodes.Stloc, _site);
            _il.Emit(OpCodes.Br, ExitWritingBack(_dirty, toInterpreter: true));
        });
    }

    /// <summary>The places the region may leave for the interpreter from (<see cref="InterpretedExit"/>): slot &lt;&lt; 32 | instructions not yet counted there.</summary>
    private readonly List<long> _interpreterSites = [];

    /// <summary>The region's sites of exits to the interpreter, by number (<see cref="Region.InterpreterExits"/>); complete once the region is emitted.</summary>
    internal long[] InterpreterExits => [.. _interpreterSites];

    private void StoreValue<T>(int rs2)
    {
        LoadX(rs2);
        if (typeof(T) == typeof(byte)) _il.Emit(OpCodes.Conv_U1);
        else if (typeof(T) == typeof(ushort)) _il.Emit(OpCodes.Conv_U2);
        else if (typeof(T) == typeof(uint)) _il.Emit(OpCodes.Conv_U4);
    }

    /// <summary>
    /// tlbEntry = the entry of the address's page in <paramref name="tlb"/>; branches to
    /// <paramref name="slow"/> unless that entry holds, in the current context, the page of the
    /// access's last byte too (one compare: an access that straddles into the next page never
    /// matches, since that page's entry sits in the next slot).
    /// </summary>
    private void TlbLookup<T>(LocalBuilder tlb, Label slow) where T : unmanaged
    {
        // tlbEntry = tlb + (address >> 12 & (entries - 1)) * entrySize, as one shift and mask
        _il.Emit(OpCodes.Ldloc, tlb);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Ldc_I4, 12 - TlbEntryShift);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Ldc_I8, (long)(Hart.TlbEntries - 1) << TlbEntryShift);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Conv_I);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _tlbEntry);
        // entry.Tag == ((address + size - 1) >> 12 | context)
        _il.Emit(OpCodes.Ldloc, _tlbEntry);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Ldloc, _address);
        if (Unsafe.SizeOf<T>() > 1)
        {
            _il.Emit(OpCodes.Ldc_I8, (long)Unsafe.SizeOf<T>() - 1);
            _il.Emit(OpCodes.Add);
        }
        _il.Emit(OpCodes.Ldc_I4, 12);
        _il.Emit(OpCodes.Shr_Un);
        _il.Emit(OpCodes.Ldloc, _context);
        _il.Emit(OpCodes.Or);
        _il.Emit(OpCodes.Bne_Un, slow);
    }

    /// <summary>log2 of a TLB entry's size.</summary>
    private static readonly int TlbEntryShift = System.Numerics.BitOperations.Log2((uint)Hart.TlbEntrySize);

    /// <summary>After a store by instruction <paramref name="k"/> (with <paramref name="pending"/> uncounted before it): leave, after it, when the page's code changed or someone asked the hart to stop or check interrupts.</summary>
    private void CheckAfterStore(int k, int pending)
    {
        int next = _code[k].Idx + _code[k].Insn.Slots, count = pending + 1;
        var leave = Stub(() => ExitTo(next, count, RegionExit.Store));
        for (int j = 0; j < _generations.Length; j++)
        {
            PageOf(j);
            _il.Emit(OpCodes.Ldfld, GenerationField);
            _il.Emit(OpCodes.Ldc_I4, _generations[j]);
            _il.Emit(OpCodes.Bne_Un, leave);
        }
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, StopAtField);
        _il.Emit(OpCodes.Brfalse, leave);
    }

    // ---- Atomics (A) ----

    private static readonly FieldInfo ReservedAddressField = typeof(Hart).GetField("_reservedAddress", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo ReservedValueField = typeof(Hart).GetField("_reservedValue", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo ReservedSizeField = typeof(Hart).GetField("_reservedSize", BindingFlags.Instance | BindingFlags.NonPublic)!;

    /// <summary>The atomic memory operations with a host atomic of their own (the others are calls to their semantics).</summary>
    public enum AtomicOperation { Swap, Add, And, Or }

    /// <summary>
    /// address = rs1 (an atomic access has no offset), and a branch to <paramref name="slow"/> when
    /// it is misaligned (which traps) or the access may not go to the host at once (<see cref="Lookup{T}"/>).
    /// </summary>
    private void AtomicLookup<T>(in Insn i, bool store, Label slow) where T : unmanaged
    {
        LoadX(i.Rs1);
        _il.Emit(OpCodes.Stloc, _address);
        _il.Emit(OpCodes.Ldloc, _address);
        Constant(Unsafe.SizeOf<T>() - 1);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brtrue, slow);
        if (_directMemory) DirectLookup<T>(store ? DirectMemory.Store : DirectMemory.Load, slow);
        else TlbLookup<T>(store ? _writeTlb : _readTlb, slow);
    }

    /// <summary>Pushes rs2 as a <typeparamref name="T"/> (int: its low 32 bits).</summary>
    private void AtomicOperand<T>(int rs2)
    {
        LoadX(rs2);
        if (typeof(T) == typeof(int)) _il.Emit(OpCodes.Conv_I4);
    }

    /// <summary>
    /// amoswap, amoadd, amoand, amoor (.w: <typeparamref name="T"/> int, .d: long): the host's
    /// atomic on the page's host memory, through direct memory or the write TLB as a store's;
    /// rd = the old value, sign-extended. A page the fast path does not hold, a misaligned address
    /// (which traps) or a device leaves the region for the interpreter.
    /// </summary>
    public void AtomicMemoryOperation<T>(in Insn i, AtomicOperation operation) where T : unmanaged
    {
        var slow = InterpretedExit();
        AtomicLookup<T>(in i, store: true, slow);
        HostAddress();
        AtomicOperand<T>(i.Rs2);
        string name = operation switch { AtomicOperation.Swap => nameof(Interlocked.Exchange), AtomicOperation.Add => nameof(Interlocked.Add), AtomicOperation.And => nameof(Interlocked.And), _ => nameof(Interlocked.Or) };
        _il.Emit(OpCodes.Call, typeof(Interlocked).GetMethod(name, [typeof(T).MakeByRefType(), typeof(T)])!);
        if (operation == AtomicOperation.Add)
        {
            // Interlocked.Add gives the new value: old = new - operand.
            AtomicOperand<T>(i.Rs2);
            _il.Emit(OpCodes.Sub);
        }
        _il.Emit(OpCodes.Conv_I8);
        StoreX(i.Rd);
    }

    /// <summary>
    /// lr.w, lr.d: rd = the aligned <typeparamref name="T"/> at rs1 (sign-extended), read as a load
    /// is, and the hart's reservation set on that address and value (as <see cref="Hart.Reserve"/>).
    /// </summary>
    public void LoadReserved<T>(in Insn i) where T : unmanaged
    {
        var slow = InterpretedExit();
        AtomicLookup<T>(in i, store: false, slow);
        HostAddress();
        _il.Emit(OpCodes.Volatile);
        _il.Emit(OpCodes.Ldobj, typeof(T));
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Stloc, _operand);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Stfld, ReservedAddressField);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _operand);
        _il.Emit(OpCodes.Stfld, ReservedValueField);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldc_I4, Unsafe.SizeOf<T>());
        _il.Emit(OpCodes.Stfld, ReservedSizeField);
        _il.Emit(OpCodes.Ldloc, _operand);
        StoreX(i.Rd);
    }

    /// <summary>
    /// sc.w, sc.d, as <see cref="Hart.TryStoreConditional"/>: with the reservation on this address
    /// and size, a compare-and-swap of the reserved value for rs2 (so a store between LR and SC by
    /// any hart that changed the value fails it); rd = 0 when it stored, 1 when not; the reservation
    /// goes either way. A page the fast path does not hold or a misaligned address leaves the region
    /// before anything is done, for the interpreter.
    /// </summary>
    public void StoreConditional<T>(in Insn i) where T : unmanaged
    {
        var slow = InterpretedExit();
        AtomicLookup<T>(in i, store: true, slow);
        Label unreserved = _il.DefineLabel(), failed = _il.DefineLabel(), done = _il.DefineLabel();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, ReservedAddressField);
        _il.Emit(OpCodes.Ldloc, _address);
        _il.Emit(OpCodes.Bne_Un, unreserved);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, ReservedSizeField);
        _il.Emit(OpCodes.Ldc_I4, Unsafe.SizeOf<T>());
        _il.Emit(OpCodes.Bne_Un, unreserved);
        // reserved: take the reservation down, then swap the reserved value for rs2
        ClearReservation();
        HostAddress();
        AtomicOperand<T>(i.Rs2);
        ReservedValue<T>();
        _il.Emit(OpCodes.Call, typeof(Interlocked).GetMethod(nameof(Interlocked.CompareExchange), [typeof(T).MakeByRefType(), typeof(T), typeof(T)])!);
        ReservedValue<T>();
        _il.Emit(OpCodes.Bne_Un, failed);
        _il.Emit(OpCodes.Ldc_I8, 0L);
        _il.Emit(OpCodes.Stloc, _operand);
        _il.Emit(OpCodes.Br, done);
        _il.MarkLabel(unreserved);
        ClearReservation();
        _il.MarkLabel(failed);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Stloc, _operand);
        _il.MarkLabel(done);
        _il.Emit(OpCodes.Ldloc, _operand);
        StoreX(i.Rd);

        void ClearReservation()
        {
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I8, -1L);
            _il.Emit(OpCodes.Stfld, ReservedAddressField);
        }
    }

    /// <summary>Pushes the hart's reserved value as a <typeparamref name="T"/>.</summary>
    private void ReservedValue<T>()
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, ReservedValueField);
        if (typeof(T) == typeof(int)) _il.Emit(OpCodes.Conv_I4);
    }

    // ---- Floating point (F, D) ----

    private static readonly FieldInfo FField = typeof(Hart).GetField(nameof(Hart.F))!;
    private static readonly FieldInfo FloatingPointGateField = typeof(Hart).GetField("_floatingPointGate", BindingFlags.Instance | BindingFlags.NonPublic)!;
    private static readonly FieldInfo FpFlagsField = typeof(Hart).GetField(nameof(Hart.FpFlags))!;
    private static readonly FieldInfo FrmField = typeof(Hart).GetField(nameof(Hart.Frm))!;
    private static readonly MethodInfo BitsToDouble = typeof(BitConverter).GetMethod(nameof(BitConverter.UInt64BitsToDouble))!;
    private static readonly MethodInfo DoubleToBits = typeof(BitConverter).GetMethod(nameof(BitConverter.DoubleToUInt64Bits))!;
    private static readonly MethodInfo BitsToSingle = typeof(BitConverter).GetMethod(nameof(BitConverter.UInt32BitsToSingle))!;
    private static readonly MethodInfo SingleToBits = typeof(BitConverter).GetMethod(nameof(BitConverter.SingleToUInt32Bits))!;
    private static readonly MethodInfo SafeDouble = typeof(Float.HostFloat).GetMethod(nameof(Float.HostFloat.Safe), [typeof(double)])!;
    private static readonly MethodInfo SafeSingle = typeof(Float.HostFloat).GetMethod(nameof(Float.HostFloat.Safe), [typeof(float)])!;
    private static readonly MethodInfo Fma64 = typeof(Math).GetMethod(nameof(Math.FusedMultiplyAdd), [typeof(double), typeof(double), typeof(double)])!;
    private static readonly MethodInfo Fma32 = typeof(MathF).GetMethod(nameof(MathF.FusedMultiplyAdd), [typeof(float), typeof(float), typeof(float)])!;
    private static readonly MethodInfo Sqrt64 = typeof(Math).GetMethod(nameof(Math.Sqrt), [typeof(double)])!;
    private static readonly MethodInfo Sqrt32 = typeof(MathF).GetMethod(nameof(MathF.Sqrt), [typeof(float)])!;
    private const ulong BoxBits = 0xFFFF_FFFF_0000_0000;

    /// <summary>
    /// Branches to <paramref name="slow"/> unless mstatus.FS (and in V mode vsstatus.FS) is Dirty (FP enabled, nothing to mark)
    /// and, for <paramref name="arithmetic"/>, the host's FPU gives the soft-float's result
    /// (<see cref="Float.HostFloat"/>: NX accrued, RNE). A static rounding mode other than RNE
    /// never takes the inline path: such instructions are left to <see cref="CallSemantics"/>.
    /// </summary>
    private void FloatGuard(in Insn i, bool arithmetic, Label slow)
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, FloatingPointGateField);
        _il.Emit(OpCodes.Brfalse, slow);
        if (!arithmetic) return;
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, FpFlagsField);
        _il.Emit(OpCodes.Ldc_I4_1); // NX
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Brfalse, slow);
        if (i.Rm == 7)
        {
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, FrmField);
            _il.Emit(OpCodes.Brtrue, slow);
        }
    }

    /// <summary>True when an arithmetic instruction's rounding mode may take the inline path (RNE, or dynamic).</summary>
    public static bool InlineRounding(in Insn i) => i.Rm is 0 or 7;

    private void FAddress(int r)
    {
        _il.Emit(OpCodes.Ldloc, _fBase);
        _il.Emit(OpCodes.Ldc_I4, r * 8);
        _il.Emit(OpCodes.Add);
    }

    /// <summary>Loads f<paramref name="r"/>'s bits into <paramref name="into"/>, branching to <paramref name="slow"/> when a single-precision value is not NaN-boxed.</summary>
    private void BoxedOperand(int r, bool wide, LocalBuilder into, Label slow)
    {
        FAddress(r);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Stloc, into);
        if (wide) return;
        _il.Emit(OpCodes.Ldloc, into);
        _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
        _il.Emit(OpCodes.Bne_Un, slow);
    }

    /// <summary>
    /// Loads f<paramref name="r"/> into <paramref name="into"/> (for single precision, its low 32
    /// bits), branching to <paramref name="slow"/> when it is not finite (or, for single precision,
    /// not NaN-boxed).
    /// </summary>
    private void FiniteOperand(int r, bool wide, LocalBuilder into, Label slow)
    {
        BoxedOperand(r, wide, into, slow);
        long exponent = wide ? 0x7FF0_0000_0000_0000 : 0x7F80_0000;
        _il.Emit(OpCodes.Ldloc, into);
        _il.Emit(OpCodes.Ldc_I8, exponent);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldc_I8, exponent);
        _il.Emit(OpCodes.Beq, slow);
    }

    private void PushFloat(LocalBuilder bits, bool wide)
    {
        _il.Emit(OpCodes.Ldloc, bits);
        if (wide) _il.Emit(OpCodes.Call, BitsToDouble);
        else
        {
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Call, BitsToSingle);
        }
    }

    /// <summary>Pops a host result: unless it is finite and above the smallest normal, to <paramref name="slow"/>; else into fd (NaN-boxed for single precision).</summary>
    private void FloatResult(int rd, bool wide, Label slow)
    {
        var r = wide ? _fr64 : _fr32;
        _il.Emit(OpCodes.Stloc, r);
        _il.Emit(OpCodes.Ldloc, r);
        _il.Emit(OpCodes.Call, wide ? SafeDouble : SafeSingle);
        _il.Emit(OpCodes.Brfalse, slow);
        FAddress(rd);
        _il.Emit(OpCodes.Ldloc, r);
        if (wide) _il.Emit(OpCodes.Call, DoubleToBits);
        else
        {
            _il.Emit(OpCodes.Call, SingleToBits);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// fd = fs1 op fs2 (<paramref name="op"/>: add, sub, mul, div) on the host's FPU where that is the
    /// soft-float's result (<see cref="Float.HostFloat"/>); anything else leaves the region for the
    /// interpreter to run the instruction (<see cref="InterpretedExit"/>).
    /// </summary>
    public void FloatBinary(in Insn i, bool wide, OpCode op)
    {
        if (!InlineRounding(in i)) { CallSemantics(); return; }
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: true, slow);
        FiniteOperand(i.Rs1, wide, _fa, slow);
        FiniteOperand(i.Rs2, wide, _fb, slow);
        PushFloat(_fa, wide);
        PushFloat(_fb, wide);
        _il.Emit(op);
        FloatResult(i.Rd, wide, slow);
    }

    /// <summary>fd = ±(fs1 × fs2) ± fs3, fused, as <see cref="FloatBinary"/> does.</summary>
    public void FloatFused(in Insn i, bool wide, bool negateProduct, bool negateAddend)
    {
        if (!InlineRounding(in i)) { CallSemantics(); return; }
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: true, slow);
        FiniteOperand(i.Rs1, wide, _fa, slow);
        FiniteOperand(i.Rs2, wide, _fb, slow);
        FiniteOperand(i.Rs3, wide, _fc, slow);
        PushFloat(_fa, wide);
        if (negateProduct) _il.Emit(OpCodes.Neg);
        PushFloat(_fb, wide);
        PushFloat(_fc, wide);
        if (negateAddend) _il.Emit(OpCodes.Neg);
        _il.Emit(OpCodes.Call, wide ? Fma64 : Fma32);
        FloatResult(i.Rd, wide, slow);
    }

    /// <summary>fd = sqrt(fs1), as <see cref="FloatBinary"/> does.</summary>
    public void FloatSqrt(in Insn i, bool wide)
    {
        if (!InlineRounding(in i)) { CallSemantics(); return; }
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: true, slow);
        FiniteOperand(i.Rs1, wide, _fa, slow);
        PushFloat(_fa, wide);
        _il.Emit(OpCodes.Call, wide ? Sqrt64 : Sqrt32);
        FloatResult(i.Rd, wide, slow);
    }

    /// <summary>fd = the <typeparamref name="T"/> (uint: NaN-boxed; ulong) at rs1 + imm, with the read TLB inline as <see cref="Load{T}"/>.</summary>
    public void FloatLoad<T>(in Insn i) where T : unmanaged
    {
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        Lookup<T>(in i, store: false, slow);
        FAddress(i.Rd);
        HostAddress();
        _il.Emit(OpCodes.Unaligned, (byte)1);
        _il.Emit(OpCodes.Ldobj, typeof(T));
        if (typeof(T) == typeof(uint))
        {
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Stores fs2's low <typeparamref name="T"/> at rs1 + imm, with the write TLB inline as <see cref="Store{T}"/>.</summary>
    public void FloatStore<T>(in Insn i) where T : unmanaged
    {
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        Lookup<T>(in i, store: true, slow);
        HostAddress();
        FAddress(i.Rs2);
        _il.Emit(OpCodes.Ldind_I8);
        if (typeof(T) == typeof(uint)) _il.Emit(OpCodes.Conv_U4);
        _il.Emit(OpCodes.Unaligned, (byte)1);
        _il.Emit(OpCodes.Stobj, typeof(T));
    }

    /// <summary>fsgnj.d, fsgnjn.d, fsgnjx.d: fs1's magnitude with the sign of fs2, of its negation, or of their product.</summary>
    public void FloatSignInject(in Insn i, int kind)
    {
        const long Sign = unchecked((long)0x8000_0000_0000_0000);
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        FAddress(i.Rd);
        FAddress(i.Rs1);
        _il.Emit(OpCodes.Ldind_I8);
        if (kind == 2)
        {
            FAddress(i.Rs2);
            _il.Emit(OpCodes.Ldind_I8);
            _il.Emit(OpCodes.Ldc_I8, Sign);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Xor);
        }
        else
        {
            _il.Emit(OpCodes.Ldc_I8, ~Sign);
            _il.Emit(OpCodes.And);
            FAddress(i.Rs2);
            _il.Emit(OpCodes.Ldind_I8);
            if (kind == 1) _il.Emit(OpCodes.Not);
            _il.Emit(OpCodes.Ldc_I8, Sign);
            _il.Emit(OpCodes.And);
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// Loads f<paramref name="r"/> into <paramref name="into"/> (for single precision, its low 32
    /// bits), branching to <paramref name="slow"/> when it is a NaN (or, for single precision, not
    /// NaN-boxed, which reads as the canonical NaN). Infinities pass.
    /// </summary>
    private void NumberOperand(int r, bool wide, LocalBuilder into, Label slow)
    {
        BoxedOperand(r, wide, into, slow);
        // |bits| above the infinity's: a NaN.
        _il.Emit(OpCodes.Ldloc, into);
        _il.Emit(OpCodes.Ldc_I8, wide ? 0x7FFF_FFFF_FFFF_FFFF : 0x7FFF_FFFF);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Ldc_I8, wide ? 0x7FF0_0000_0000_0000 : 0x7F80_0000);
        _il.Emit(OpCodes.Bgt_Un, slow);
    }

    /// <summary>Branches to <paramref name="slow"/> when a dynamic rounding mode names no mode (frm 5-7: the instruction is illegal).</summary>
    private void ValidRounding(in Insn i, Label slow)
    {
        if (i.Rm != 7) return;
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, FrmField);
        _il.Emit(OpCodes.Ldc_I4_4);
        _il.Emit(OpCodes.Bgt_Un, slow);
    }

    /// <summary>fmv.x.d: xd = fs1's bits; fmv.x.w: its low 32, sign-extended. No rounding, no flags.</summary>
    public void FloatMoveToInteger(in Insn i, bool wide)
    {
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        FAddress(i.Rs1);
        _il.Emit(OpCodes.Ldind_I8);
        if (!wide)
        {
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Conv_I8);
        }
        StoreX(i.Rd);
    }

    /// <summary>fmv.d.x: fd = xs1's bits; fmv.w.x: its low 32, NaN-boxed.</summary>
    public void FloatMoveFromInteger(in Insn i, bool wide)
    {
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        FAddress(i.Rd);
        LoadX(i.Rs1);
        if (!wide)
        {
            _il.Emit(OpCodes.Conv_U4);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>The comparison of <see cref="FloatCompare"/>.</summary>
    public enum Comparison { Equal, Less, LessOrEqual }

    /// <summary>
    /// feq, flt, fle: xd = 1 when fs1 compares so with fs2, else 0. Without a NaN no flag is raised
    /// and the host's compare is the IEEE one; a NaN (which raises NV for flt and fle, and for feq
    /// when signaling) leaves the region for the interpreter.
    /// </summary>
    public void FloatCompare(in Insn i, bool wide, Comparison comparison)
    {
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        NumberOperand(i.Rs1, wide, _fa, slow);
        NumberOperand(i.Rs2, wide, _fb, slow);
        PushFloat(_fa, wide);
        PushFloat(_fb, wide);
        switch (comparison)
        {
            case Comparison.Equal: _il.Emit(OpCodes.Ceq); break;
            case Comparison.Less: _il.Emit(OpCodes.Clt); break;
            default:
                // a <= b is !(a > b) without NaNs.
                _il.Emit(OpCodes.Cgt);
                _il.Emit(OpCodes.Ldc_I4_0);
                _il.Emit(OpCodes.Ceq);
                break;
        }
        _il.Emit(OpCodes.Conv_U8);
        StoreX(i.Rd);
    }

    /// <summary>
    /// fcvt.d.w[u], fcvt.d.l[u], fcvt.s.w[u], fcvt.s.l[u]: fd = xs1 (its low 32 bits for
    /// <paramref name="word"/>) as a float where the conversion is exact — every 32-bit integer to
    /// double, magnitudes up to 2^53 (double) or 2^24 (single) otherwise — so that neither the
    /// rounding mode nor a flag matters; a larger value leaves the region for the interpreter.
    /// </summary>
    public void FloatFromInteger(in Insn i, bool wide, bool signed, bool word)
    {
        if (i.Rm is 5 or 6) { CallSemantics(); return; } // illegal: the semantics raise it
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        ValidRounding(in i, slow);
        LoadX(i.Rs1);
        if (word)
        {
            _il.Emit(signed ? OpCodes.Conv_I4 : OpCodes.Conv_U4);
            _il.Emit(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        }
        _il.Emit(OpCodes.Stloc, _fa);
        if (!(wide && word))
        {
            long exact = wide ? 1L << 53 : 1L << 24;
            _il.Emit(OpCodes.Ldloc, _fa);
            if (signed)
            {
                // -exact <= x <= exact, as one unsigned compare: x + exact <= 2 * exact
                _il.Emit(OpCodes.Ldc_I8, exact);
                _il.Emit(OpCodes.Add);
                _il.Emit(OpCodes.Ldc_I8, 2 * exact);
            }
            else _il.Emit(OpCodes.Ldc_I8, exact);
            _il.Emit(OpCodes.Bgt_Un, slow);
        }
        FAddress(i.Rd);
        _il.Emit(OpCodes.Ldloc, _fa);
        if (signed) _il.Emit(OpCodes.Conv_R8);
        else
        {
            _il.Emit(OpCodes.Conv_R_Un);
            _il.Emit(OpCodes.Conv_R8);
        }
        if (wide) _il.Emit(OpCodes.Call, DoubleToBits);
        else
        {
            _il.Emit(OpCodes.Conv_R4);
            _il.Emit(OpCodes.Call, SingleToBits);
            _il.Emit(OpCodes.Conv_U8);
            _il.Emit(OpCodes.Ldc_I8, unchecked((long)BoxBits));
            _il.Emit(OpCodes.Or);
        }
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>
    /// fcvt.w[u].d, fcvt.l[u].d, fcvt.w[u].s, fcvt.l[u].s with a static rounding mode of RNE, RTZ
    /// (C's casts), RDN or RUP (floor and ceil): xd = fs1 rounded so, for a finite value whose
    /// rounding fits, with NX accrued when the value was not whole (the 32-bit results sign-extended,
    /// as the ISA writes them). RMM and dynamic modes are calls to the semantics; a NaN, an infinity
    /// or a value out of range (NV) leaves the region for the interpreter.
    /// </summary>
    public void FloatToInteger(in Insn i, bool wide, bool signed, bool word)
    {
        MethodInfo round;
        switch (i.Rm)
        {
            case 0: round = RoundEven64; break;
            case 1: round = Truncate64; break;
            case 2: round = Floor64; break;
            case 3: round = Ceiling64; break;
            default: CallSemantics(); return;
        }
        var slow = InterpretedExit();
        FloatGuard(in i, arithmetic: false, slow);
        FiniteOperand(i.Rs1, wide, _fa, slow);
        PushFloat(_fa, wide);
        if (!wide) _il.Emit(OpCodes.Conv_R8); // exact
        _il.Emit(OpCodes.Call, round);
        _il.Emit(OpCodes.Stloc, _fr64);
        // Exclusive bounds of the whole numbers in range: lower < rounded < upper.
        (double lower, double upper) = (signed, word) switch
        {
            (true, true) => (-2147483649.0, 2147483648.0),
            (false, true) => (-1.0, 4294967296.0),
            (true, false) => (-9223372036854777856.0, 9223372036854775808.0), // the double below -2^63, and 2^63
            (false, false) => (-1.0, 18446744073709551616.0),
        };
        _il.Emit(OpCodes.Ldloc, _fr64);
        _il.Emit(OpCodes.Ldc_R8, lower);
        _il.Emit(OpCodes.Ble_Un, slow);
        _il.Emit(OpCodes.Ldloc, _fr64);
        _il.Emit(OpCodes.Ldc_R8, upper);
        _il.Emit(OpCodes.Bge_Un, slow);
        // NX when the value was not whole (-0.5 to an unsigned 0 included).
        var whole = _il.DefineLabel();
        _il.Emit(OpCodes.Ldloc, _fr64);
        PushFloat(_fa, wide);
        if (!wide) _il.Emit(OpCodes.Conv_R8);
        _il.Emit(OpCodes.Beq, whole);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, FpFlagsField);
        _il.Emit(OpCodes.Ldc_I4_1); // NX
        _il.Emit(OpCodes.Or);
        _il.Emit(OpCodes.Stfld, FpFlagsField);
        _il.MarkLabel(whole);
        _il.Emit(OpCodes.Ldloc, _fr64);
        _il.Emit(signed ? OpCodes.Conv_I8 : OpCodes.Conv_U8);
        if (word)
        {
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Conv_I8);
        }
        StoreX(i.Rd);
    }

    private static readonly MethodInfo RoundEven64 = typeof(Math).GetMethod(nameof(Math.Round), [typeof(double)])!;
    private static readonly MethodInfo Floor64 = typeof(Math).GetMethod(nameof(Math.Floor), [typeof(double)])!;
    private static readonly MethodInfo Ceiling64 = typeof(Math).GetMethod(nameof(Math.Ceiling), [typeof(double)])!;
    private static readonly MethodInfo Truncate64 = typeof(Math).GetMethod(nameof(Math.Truncate), [typeof(double)])!;

    // ---- Instructions without an emitter: a call to their semantics ----

    /// <summary>Translates the current instruction as a call to its semantics (for an emitter whose inline path does not apply to these operands).</summary>
    public void CallSemantics() => EmitCall();

    private void EmitCall()
    {
        var (idx, insn, def) = _code[_k];
        FlushCount(0);
        // The semantics (and a trap they raise, which a host handler may serve at once) see the register file.
        WriteBack(_dirty);
        _dirty = 0;
        SetInstret();
        // The semantics see the instruction's own page as the current one, and its slot in it.
        int slot = idx & (DecodedPage.SlotCount - 1);
        if (_multiPage)
        {
            _il.Emit(OpCodes.Ldarg_1);
            PageBaseOf(idx);
            _il.Emit(OpCodes.Stfld, PageBaseField);
        }
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldarg_0);
        _il.Emit(OpCodes.Ldfld, InsnsField);
        _il.Emit(OpCodes.Ldc_I4, _k);
        _il.Emit(OpCodes.Ldelema, typeof(Insn));
        _il.Emit(OpCodes.Ldc_I4, slot);
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
        _il.Emit(OpCodes.Ldc_I4, slot + insn.Slots);
        _il.Emit(OpCodes.Bne_Un, Stub(() =>
        {
            // It went elsewhere (a trap, a jump, an exit after a CSR write): registers, pc and instret are the semantics' own.
            CountExit(RegionExit.Semantics);
            var done = _il.DefineLabel();
            _il.Emit(OpCodes.Ldloc, _result);
            _il.Emit(OpCodes.Ldc_I4_0);
            _il.Emit(OpCodes.Blt, done);
            _il.Emit(OpCodes.Ldarg_1);
            PageBaseOf(idx);
            _il.Emit(OpCodes.Ldloc, _result);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Ldc_I8, 2L);
            _il.Emit(OpCodes.Mul);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stfld, PcField);
            _il.MarkLabel(done);
            _il.Emit(OpCodes.Ldnull);
            _il.Emit(OpCodes.Ret);
        }));
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stloc, _n);
        _pending = -1;
        // Continuing here, the instruction did not trap: it changed only what it names, unless it
        // may change state (a CSR write may change minstret, and the privilege or mstatus bits that
        // make the translation context).
        if (def.Flow == ControlFlow.ChangesState)
        {
            LoadRegisters(_used);
            LoadState();
        }
        else if (def.Syntax.WritesX) LoadRegisters(_used & Bit(insn.Rd));
        // Atomics and FP stores write memory too.
        if (def.Syntax.Operands.Any(o => o is Operand.MemImm or Operand.MemSImm or Operand.MemReg)) CheckAfterStore(_k, _pending);
    }

    // ---- Counting, exits, prologue ----

    /// <summary>n += pending + <paramref name="extra"/>; pending = 0.</summary>
    private void FlushCount(int extra)
    {
        int add = _pending + extra;
        if (add != 0)
        {
            _il.Emit(OpCodes.Ldloc, _n);
            _il.Emit(OpCodes.Ldc_I8, (long)add);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _n);
        }
        _pending = 0;
    }

    /// <summary>Leaves for slot <paramref name="target"/> of the page (or beyond it) with <paramref name="count"/> more instructions retired, for the reason <paramref name="kind"/>.</summary>
    private void ExitTo(long target, int count, RegionExit kind)
    {
        CountExit(kind);
        int saved = _pending;
        _pending = count;
        FlushCount(0);
        _pending = saved;
        PcAt(target);
        _il.Emit(OpCodes.Stloc, _nextPc);
        _il.Emit(OpCodes.Br, ExitWritingBack(_dirty, toInterpreter: false));
    }

    /// <summary>Adds one to the hart's count of exits of <paramref name="kind"/>, when the region counts them.</summary>
    private void CountExit(RegionExit kind)
    {
        if (!_countExits) return;
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldflda, ExitCountsField);
        _il.Emit(OpCodes.Ldc_I4, (int)kind * sizeof(long));
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Ldind_I8);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stind_I8);
    }

    /// <summary>Exit paths by the registers they write back: exits that may have the same locals dirty share one.</summary>
    private readonly Dictionary<(uint Dirty, bool ToInterpreter), Label> _exits = [];

    /// <summary>An exit path that writes back <paramref name="dirty"/>, then goes on to the exit (or the interpreter's exit).</summary>
    private Label ExitWritingBack(uint dirty, bool toInterpreter)
    {
        dirty &= _written;
        if (_exits.TryGetValue((dirty, toInterpreter), out var label)) return label;
        if (toInterpreter) _interpreterExit ??= _il.DefineLabel();
        var tail = toInterpreter ? _interpreterExit!.Value : _exit;
        label = _il.DefineLabel();
        _exits[(dirty, toInterpreter)] = label;
        _stubs.Add(() =>
        {
            _il.MarkLabel(label);
            WriteBack(dirty);
            _il.Emit(OpCodes.Br, tail);
        });
        return label;
    }

    /// <summary>Where exits for the interpreter go (<see cref="InterpretedExit"/>): as the exit, but no next region; defined with its first use.</summary>
    private Label? _interpreterExit;

    private Label Stub(Action emit)
    {
        var label = _il.DefineLabel();
        uint dirty = _dirty; // what may be dirty where the stub is taken
        _stubs.Add(() =>
        {
            _il.MarkLabel(label);
            _dirty = dirty;
            emit();
        });
        return label;
    }

    private void SetInstret()
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Stfld, InstretField);
    }

    /// <summary>local = the hart's <paramref name="field"/>.</summary>
    private void HartField(FieldInfo field, LocalBuilder local)
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, field);
        _il.Emit(OpCodes.Stloc, local);
    }

    /// <summary>n = the hart's instret; context = its translation context (on entry, and after an instruction that may change either).</summary>
    private void LoadState()
    {
        HartField(InstretField, _n);
        HartField(TlbContextField, _context);
    }

    private void WriteBack(uint set)
    {
        for (int r = 1; r < 32; r++)
        {
            if ((set & _written & (1u << r)) == 0) continue;
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

    private void EmitExitPath()
    {
        // exit for the interpreter (its path wrote the registers back): InterpretNext set, instret
        // and pc from the site's entry in the region's table, and no next region.
        if (_interpreterExit is { } interpreterExit)
        {
            _il.MarkLabel(interpreterExit);
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldc_I4_1);
            _il.Emit(OpCodes.Stfld, InterpretNextField);
            var site = _il.DeclareLocal(typeof(long));
            _il.Emit(OpCodes.Ldarg_0);
            _il.Emit(OpCodes.Ldfld, InterpreterExitsField);
            _il.Emit(OpCodes.Ldloc, _site);
            _il.Emit(OpCodes.Ldelem_I8);
            _il.Emit(OpCodes.Stloc, site);
            _il.Emit(OpCodes.Ldloc, _n);
            _il.Emit(OpCodes.Ldloc, site);
            _il.Emit(OpCodes.Conv_I4);
            _il.Emit(OpCodes.Conv_I8);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _n);
            LoadPageBase();
            _il.Emit(OpCodes.Ldloc, site);
            _il.Emit(OpCodes.Ldc_I4, 31); // (slot << 32) >> 31: the slot's byte offset, signed
            _il.Emit(OpCodes.Shr);
            _il.Emit(OpCodes.Add);
            _il.Emit(OpCodes.Stloc, _nextPc);
            LeaveState();
            _il.Emit(OpCodes.Ldnull);
            _il.Emit(OpCodes.Ret);
        }
        // exit: registers back, instret, pc.
        _il.MarkLabel(_exit);
        LeaveState();
        // Then the region the hart's jump cache holds for where it left, when its whole length fits
        // before _stopAt (stop requests, interrupt checks and flushes set it to 0 and refuse it),
        // entered by a tail call: each exit has an indirect jump of its own, which the host's branch
        // predictor learns apart from the others' (a single call site in the engine's loop
        // mispredicts as often as regions change), and the stack does not grow. None: back to the
        // dispatcher. A region in the cache is never one of old code: the code cache empties every
        // hart's jump cache whenever a page's code changes.
        var miss = _il.DefineLabel();
        var refused = _il.DefineLabel();
        var next = _il.DeclareLocal(typeof(Region));
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, JumpsField);
        JumpCache.EmitFind(_il, _nextPc, () =>
        {
            _il.Emit(OpCodes.Ldarg_1);
            _il.Emit(OpCodes.Ldfld, TlbContextField);
        }, miss);
        _il.Emit(OpCodes.Stloc, next);
        _il.Emit(OpCodes.Ldloc, _n);
        _il.Emit(OpCodes.Ldloc, next);
        _il.Emit(OpCodes.Call, LengthGetter);
        _il.Emit(OpCodes.Conv_I8);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldfld, StopAtField);
        _il.Emit(OpCodes.Bgt, refused);
        CountIn(JumpCacheHitsField);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _nextPc);
        _il.Emit(OpCodes.Ldc_I8, ~0xFFFL);
        _il.Emit(OpCodes.And);
        _il.Emit(OpCodes.Stfld, PageBaseField);
        _il.Emit(OpCodes.Ldloc, next);
        _il.Emit(OpCodes.Ldfld, RunField);
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Tailcall);
        _il.Emit(OpCodes.Callvirt, InvokeMethod);
        _il.Emit(OpCodes.Ret);
        _il.MarkLabel(miss);
        CountIn(JumpCacheMissesField);
        _il.MarkLabel(refused);
        _il.Emit(OpCodes.Ldnull);
        _il.Emit(OpCodes.Ret);
    }

    /// <summary>Adds one to the hart's counter <paramref name="field"/>.</summary>
    private void CountIn(FieldInfo field)
    {
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Dup);
        _il.Emit(OpCodes.Ldfld, field);
        _il.Emit(OpCodes.Ldc_I8, 1L);
        _il.Emit(OpCodes.Add);
        _il.Emit(OpCodes.Stfld, field);
    }

    /// <summary>Writes back instret and pc (nextPc) as the region leaves (its exit path wrote back the registers).</summary>
    private void LeaveState()
    {
        SetInstret();
        _il.Emit(OpCodes.Ldarg_1);
        _il.Emit(OpCodes.Ldloc, _nextPc);
        _il.Emit(OpCodes.Stfld, PcField);
    }

    private void EmitPrologue()
    {
        _il.MarkLabel(_prologue);
        HartField(XField, _xBase);
        HartField(FField, _fBase);
        LoadState();
        HartField(ReadTlbField, _readTlb);
        HartField(WriteTlbField, _writeTlb);
        if (_directMemory)
        {
            HartField(DirectBaseField, _directBase);
            HartField(DirectPagesField, _directPages);
            HartField(DirectLimitField, _directLimit);
        }
        if (_pageBase is not null) HartField(PageBaseField, _pageBase);
        if (_multiPage) HartField(FetchTlbField, _fetchTlb!);
        LoadRegisters(_liveOnEntry);
        _il.Emit(OpCodes.Br, _body);
    }
}
