using System.Runtime.CompilerServices;

namespace Isomorph.Riscv.Translation;

/// <summary>
/// Why a region run ended (counted for <c>--stats</c> when <see cref="TranslatingEngine.CountExits"/>
/// is set): where it goes next is not in the region, or the region must stop first. Every region
/// run ends at exactly one of these.
/// </summary>
public enum RegionExit
{
    /// <summary>A conditional branch to code of its own page the region does not hold (not run when the region was gathered, or past its cap).</summary>
    Branch,
    /// <summary>A conditional branch to another page (regions do not follow those).</summary>
    BranchAcross,
    /// <summary>A <c>j</c> (jal without a link) to code the region does not hold.</summary>
    Jump,
    /// <summary>A call (jal with a link) of a function the region does not hold.</summary>
    Call,
    /// <summary>A return (<c>ret</c>) to a place the region does not hold.</summary>
    Return,
    /// <summary>An indirect jump that is neither a return nor a call: an interpreter's bytecode dispatch, a switch's jump table.</summary>
    IndirectJump,
    /// <summary>A call through a register (jalr linking ra): function pointers, calls through the PLT.</summary>
    IndirectCall,
    /// <summary>Falling through past the region's last instruction.</summary>
    FallThrough,
    /// <summary>A back edge when the region's length no longer fits in the budget, or a stop, interrupt check or flush was asked for.</summary>
    Budget,
    /// <summary>Entering another page whose mapping or code is no longer the one the region was read from.</summary>
    PageCheck,
    /// <summary>An instruction off the inline paths (a memory access the TLB or direct memory does not serve, inexact FP), left for the interpreter.</summary>
    Interpreter,
    /// <summary>After a store through semantics that changed code of the region's pages, or a stop asked for.</summary>
    Store,
    /// <summary>An instruction run through its semantics that went elsewhere: a trap, a system call, a state change.</summary>
    Semantics,
}

/// <summary>A hart's count of region exits by <see cref="RegionExit"/>, inside the hart: translated code adds to it at a constant offset.</summary>
[InlineArray(Kinds)]
internal struct RegionExitCounts
{
    public const int Kinds = (int)RegionExit.Semantics + 1;
    private long _first;
}
