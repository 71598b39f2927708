namespace Isomorph.Tests.Differential;

/// <summary>
/// One unit of a random stream: one instruction, or a few that must stay together (an AMO and the
/// instruction that forms its aligned address, an LR/SC pair, a branch...). Branch targets are always
/// item boundaries, so an item is never entered in the middle.
/// </summary>
public sealed class StreamItem
{
    public StreamItem(int ordinal, string group, IReadOnlyList<string> lines)
    {
        Ordinal = ordinal;
        Group = group;
        Lines = lines;
    }

    /// <summary>Position in the stream as generated; stays the same when the stream is shrunk.</summary>
    public int Ordinal { get; }

    /// <summary>Generator group ("alu", "f", "c", ...), for reports.</summary>
    public string Group { get; }

    /// <summary>Assembly lines. A branch refers to its target as <see cref="LabelToken"/>.</summary>
    public IReadOnlyList<string> Lines { get; }

    /// <summary>For a branch/jump item: the ordinal of the item its target label sits in front of
    /// (int.MaxValue = end of stream). The label is placed in front of the first kept item whose
    /// ordinal is at least this, so it is always forward.</summary>
    public int? TargetOrdinal { get; init; }

    /// <summary>Needs the assembler's RVC option (explicit c.* mnemonics).</summary>
    public bool Compressed { get; init; }

    /// <summary>For a deliberately trapping item: the index in <see cref="Lines"/> of the instruction that
    /// must trap. The program writer labels it and lists it in the stream's table of expected trap sites;
    /// the trap handler logs and skips a trap only at such a site (anything else is an unexpected trap).</summary>
    public int? TrapAt { get; init; }

    /// <summary>The mcause the spec requires for the trap at <see cref="TrapAt"/> (checked against the
    /// oracle by the harness self-test).</summary>
    public int? ExpectedCause { get; init; }

    public const string LabelToken = "@TARGET@";

    public override string ToString() => string.Join("; ", Lines);
}

/// <summary>One independent random instruction stream with its complete initial state.</summary>
public sealed class RandomStream
{
    public required long ProgramSeed { get; init; }
    public required int Index { get; init; }

    /// <summary>Initial x0..x31 (x0, x2 and x8 are ignored: x2/x8 are the data-area pointers).</summary>
    public required ulong[] X { get; init; }

    /// <summary>Initial f0..f31, raw 64-bit.</summary>
    public required ulong[] F { get; init; }

    public required ulong Fcsr { get; init; }

    /// <summary>Whether the assembler may compress ordinary mnemonics (.option rvc vs norvc).</summary>
    public required bool AutoCompress { get; init; }

    public required IReadOnlyList<StreamItem> Items { get; init; }

    /// <summary>Data-area dwords that differ from the program's template at stream start
    /// (offset in bytes, multiple of 8). Used by reproducers built from a checkpoint.</summary>
    public IReadOnlyList<(int Offset, ulong Value)> MemoryPatches { get; init; } = [];

    public RandomStream With(IReadOnlyList<StreamItem>? items = null, ulong[]? x = null, ulong[]? f = null,
        ulong? fcsr = null, IReadOnlyList<(int, ulong)>? patches = null, int? index = null) => new()
    {
        ProgramSeed = ProgramSeed,
        Index = index ?? Index,
        X = x ?? X,
        F = f ?? F,
        Fcsr = fcsr ?? Fcsr,
        AutoCompress = AutoCompress,
        Items = items ?? Items,
        MemoryPatches = patches ?? MemoryPatches,
    };
}

/// <summary>A whole generated program: the data-area template and K streams.</summary>
public sealed class DiffProgram
{
    public required long Seed { get; init; }
    public required ulong[] DataTemplate { get; init; } // DataAreaSize / 8 dwords
    public required IReadOnlyList<RandomStream> Streams { get; init; }

    public const int DataAreaSize = 4096;
    /// <summary>x8 (s0) = data area + 2048: 12-bit offsets reach the whole area; c.lw/c.ld/c.fld use it.</summary>
    public const int S0Offset = 2048;
    /// <summary>x2 (sp) = data area + 512: c.lwsp/c.ldsp/c.fldsp/c.addi4spn/c.addi16sp use it.</summary>
    public const int SpOffset = 512;
}
