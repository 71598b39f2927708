using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// One translated region: up to <see cref="RegionTranslator.MaxInstructions"/> instructions reachable
/// from <see cref="Start"/>, where it is entered, compiled to a .NET method: code of the physical page
/// it starts on and of up to <see cref="RegionTranslator.MaxPages"/> - 1 others, each entered behind
/// a check that the fetch TLB still maps it where it was read and that its code has not changed
/// (and, behind a check, the second half of an instruction straddling into the next page). It runs with
/// <see cref="Hart.CurrentPageBase"/> set to the virtual page it is entered through, and leaves
/// <see cref="Hart.Pc"/>, <see cref="Hart.Instret"/> and the registers exactly as the interpreter
/// would after the same instructions. Immutable once made, so harts on several threads share it.
/// </summary>
public sealed class Region
{
    /// <summary>The pages the region was read from, the start's first, in whose table it is kept (its code checks their generations after stores: one that changes them ends the region).</summary>
    internal DecodedPage[] Pages { get; init; } = [];
    /// <summary>The generation of each of <see cref="Pages"/> its code was read at.</summary>
    internal int[] Generations { get; init; } = [];
    /// <summary>The one virtual page base it runs at (its pcs are constants), or null: entered at any (<see cref="Hart.CurrentPageBase"/>).</summary>
    internal ulong? FixedBase { get; init; }

    /// <summary>
    /// True when the code of a page the region spans beyond its start's has changed since it was
    /// read (the start's own page drops its regions when it changes): control going there leaves
    /// the region, so the dispatcher has it translated again.
    /// </summary>
    internal bool Stale
    {
        get
        {
            for (int j = 1; j < Pages.Length; j++)
                if (!Pages[j].Unchanged(Generations[j])) return true;
            return false;
        }
    }
    /// <summary>The slot (halfword index within the page) of the first instruction.</summary>
    public required int Start { get; init; }
    /// <summary>How many instructions the region holds: the most it runs between two budget checks.</summary>
    public required int Length { get; init; }
    /// <summary>The decoded instructions, in order (the operands that calls to semantics read).</summary>
    internal Insn[] Insns = [];
    /// <summary>Where the region may leave for the interpreter, by the number its code keeps on the way out: slot &lt;&lt; 32 | instructions retired since its count was last brought up to date.</summary>
    internal long[] InterpreterExits = [];
    /// <summary>How many of the instructions have an emitter (the rest are calls to semantics).</summary>
    public int Emitted { get; init; }

    /// <summary>
    /// The stop slots it was translated around (a debugger's breakpoints, a hook's instructions on
    /// its virtual page: none of them is in it, and control reaching one leaves it), or null. The
    /// dispatcher runs it only where the stops of the moment are these.
    /// </summary>
    internal ulong[]? Stops { get; init; }
    /// <summary>
    /// The compiled code: runs the region, then the regions the hart's jump cache holds for where
    /// each left (its exit looks it up, <see cref="JumpCache.EmitFind"/>), each entered by a tail call; returns null when one
    /// finds none (the engine's dispatcher goes on), or leaves for the interpreter.
    /// </summary>
    internal Func<Hart, Region?> Run = null!;
}

/// <summary>
/// A code page's translation state, made afresh after every reset of the page
/// (<see cref="DecodedPage.Reset"/>): its regions by start slot, and how often each block start ran.
/// Read and written by several harts without locks: a lost count only delays a translation.
/// </summary>
internal sealed class PageTranslations(int generation)
{
    public readonly int Generation = generation;
    /// <summary>
    /// The regions by start slot: a shared empty table until the page's first region is installed
    /// (most code pages never get one, and each table is 16 KiB).
    /// </summary>
    public Region?[] Regions = NoRegions;

    private static readonly Region?[] NoRegions = new Region?[DecodedPage.SlotCount];

    /// <summary>Installs <paramref name="region"/> at its start slot, giving the page a table of its own first.</summary>
    public void Install(Region region)
    {
        if (Regions == NoRegions) Interlocked.CompareExchange(ref Regions, new Region?[DecodedPage.SlotCount], NoRegions);
        Regions[region.Start] = region;
    }
    /// <summary>Executions of each block start; <see cref="Queued"/> once it has been sent to the translator.</summary>
    public readonly ushort[] Counts = new ushort[DecodedPage.SlotCount];

    public const ushort Queued = ushort.MaxValue;

    /// <summary>
    /// For each start whose region was translated for other stops than the dispatcher's of the
    /// moment: the stops a new translation was asked for (<see cref="NoStops"/> for none), so it is
    /// asked once. Allocated when first needed (only while, or after, a debugger or hooks stop somewhere).
    /// </summary>
    public object?[]? Requested;

    /// <summary>
    /// For each start whose region is on the translator's queue, its request (the translator takes
    /// the one whose start ran the most instructions interpreted while it waited). Allocated with
    /// the page's first request.
    /// </summary>
    public RegionPlan?[]? Waiting;

    /// <summary>What <see cref="Requested"/> holds for a translation without stops.</summary>
    public static readonly object NoStops = new();
}
