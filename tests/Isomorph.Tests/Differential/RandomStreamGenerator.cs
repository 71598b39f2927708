using System.Globalization;

namespace Isomorph.Tests.Differential;

/// <summary>Knobs for <see cref="RandomStreamGenerator"/>.</summary>
public sealed record GeneratorOptions
{
    public int StreamsPerProgram { get; init; } = 25;
    public int MinInstructions { get; init; } = 60;
    public int MaxInstructions { get; init; } = 200;

    /// <summary>Groups left out (see <see cref="RandomStreamGenerator.Groups"/>), e.g. "misaligned" for an
    /// implementation that traps on misaligned loads/stores (the spec allows that; QEMU 7.2 does not trap).</summary>
    public IReadOnlySet<string> Disabled { get; init; } = new HashSet<string>();

    /// <summary>Streams that run in VS-mode: the items that read or switch the status register use sstatus (vsstatus there), not mstatus.</summary>
    public bool VirtualSupervisor { get; init; }

    /// <summary>Reads ISOMORPH_DIFF_DISABLE (comma-separated groups), ISOMORPH_DIFF_STREAMS,
    /// ISOMORPH_DIFF_MIN_LEN and ISOMORPH_DIFF_MAX_LEN.</summary>
    public static GeneratorOptions FromEnvironment()
    {
        var o = new GeneratorOptions();
        var dis = Environment.GetEnvironmentVariable("ISOMORPH_DIFF_DISABLE");
        if (!string.IsNullOrWhiteSpace(dis))
        {
            var set = dis.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var g in set)
                if (!RandomStreamGenerator.Groups.Contains(g, StringComparer.OrdinalIgnoreCase))
                    throw new ArgumentException($"ISOMORPH_DIFF_DISABLE: unknown group '{g}'. Known: {string.Join(",", RandomStreamGenerator.Groups)}");
            o = o with { Disabled = set };
        }
        if (int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_STREAMS"), out var k) && k > 0)
            o = o with { StreamsPerProgram = k };
        if (int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_MIN_LEN"), out var mn) && mn > 0)
            o = o with { MinInstructions = mn };
        if (int.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_DIFF_MAX_LEN"), out var mx) && mx >= o.MinInstructions)
            o = o with { MaxInstructions = mx };
        return o;
    }

    public override string ToString() =>
        $"K={StreamsPerProgram}, len={MinInstructions}..{MaxInstructions}" +
        (Disabled.Count > 0 ? $", disabled={string.Join(",", Disabled.Order())}" : "");
}

/// <summary>
/// Generates reproducible random RV64GC+Zba/Zbb/Zbs instruction streams. Everything is a function
/// of the seed: program seed → data template; (program seed, stream index) → that stream.
/// Reserved registers: x2 (sp) = data+512 and x8 (s0) = data+2048, the bases of all memory accesses;
/// the stream never writes them (except a balanced c.addi16sp pair inside one item).
/// </summary>
public sealed class RandomStreamGenerator
{
    public static readonly string[] Groups =
        ["alu", "m", "a", "ls", "misaligned", "f", "d", "fcvt", "c", "zba", "zbb", "zbs", "csr", "branch", "misc", "trap"];

    private readonly GeneratorOptions _opt;
    public RandomStreamGenerator(GeneratorOptions? options = null) => _opt = options ?? new GeneratorOptions();
    public GeneratorOptions Options => _opt;

    public DiffProgram Generate(long seed)
    {
        var rnd = new Random(unchecked((int)(seed ^ (seed >> 32)) * 7919 + 17));
        var template = new ulong[DiffProgram.DataAreaSize / 8];
        for (int i = 0; i < template.Length; i++)
        {
            template[i] = rnd.Next(4) switch
            {
                0 => RandomF(rnd),
                1 => RandomX(rnd),
                _ => (ulong)rnd.NextInt64() ^ ((ulong)rnd.Next(2) << 63),
            };
        }
        var streams = new List<RandomStream>();
        for (int k = 0; k < _opt.StreamsPerProgram; k++)
            streams.Add(GenerateStream(seed, k));
        return new DiffProgram { Seed = seed, DataTemplate = template, Streams = streams };
    }

    public static int StreamSeed(long programSeed, int index) =>
        unchecked((int)(programSeed * 1000003 + index * 7877 + (programSeed >> 32)));

    public RandomStream GenerateStream(long programSeed, int index)
    {
        var r = new Random(StreamSeed(programSeed, index));
        var x = new ulong[32];
        var f = new ulong[32];
        for (int i = 1; i < 32; i++) x[i] = RandomX(r);
        // f0..f15 mostly hold doubles, f16..f31 mostly NaN-boxed singles (instructions of each precision
        // draw most operands from "their" half, so few inputs are accidental NaNs).
        for (int i = 0; i < 32; i++) f[i] = r.Next(8) == 0 ? RandomF(r) : i < 16 ? RandomD(r) : RandomS(r);
        ulong fcsr = (ulong)r.Next(5) << 5;
        var s = new StreamBuilder(r, _opt);
        int n = r.Next(_opt.MinInstructions, _opt.MaxInstructions + 1);
        s.Build(n);
        return new RandomStream
        {
            ProgramSeed = programSeed, Index = index, X = x, F = f, Fcsr = fcsr,
            AutoCompress = r.Next(3) != 0, Items = s.Items,
        };
    }

    // ---------------------------------------------------------------- values

    private static readonly ulong[] EdgeX =
    [
        0, 1, ulong.MaxValue, 2, unchecked((ulong)-2L), 0x7fffffff, 0x80000000, 0xffffffff80000000, 0xffffffff,
        0x7fffffffffffffff, 0x8000000000000000, 0x80000001, 0xffffffff7fffffff, 0x100000000, 0xffff, 0x8000,
        0xffffffffffff8000, 0x80, 0xff, 0xffffffffffffff80, 63, 64, 31, 32, 0x0101010101010101, 0x8080808080808080,
        0x00000000ffff0000, 0xaaaaaaaaaaaaaaaa, 0x5555555555555555,
    ];

    public static ulong RandomX(Random r)
    {
        switch (r.Next(10))
        {
            case 0: case 1: case 2: return EdgeX[r.Next(EdgeX.Length)];
            case 3: return (ulong)(long)r.Next(-20, 21);
            case 4: return (ulong)(long)(int)(uint)r.NextInt64(); // sign-extended 32-bit
            case 5: return (uint)r.NextInt64() | 0x80000000u;      // bit 31 set, upper zero
            case 6: return 1UL << r.Next(64) ^ (r.Next(2) == 0 ? 0 : ulong.MaxValue);
            default: return (ulong)r.NextInt64() ^ ((ulong)r.Next(2) << 63);
        }
    }

    private static readonly ulong[] EdgeD =
    [
        0x0000000000000000, 0x8000000000000000, 0x7ff0000000000000, 0xfff0000000000000, // ±0, ±inf
        0x7ff8000000000000, 0xfff8000000000000, 0x7ff8000000000123, 0x7ff0000000000001, 0xfff4000000000000, // NaNs
        0x0000000000000001, 0x800fffffffffffff, 0x0008000000000000, 0x0010000000000000, // subnormals, min normal
        0x7fefffffffffffff, 0xffefffffffffffff, 0x3ff0000000000000, 0xbff0000000000000, 0x3fe0000000000000,
        0x41dfffffffc00000, 0xc1e0000000000000, 0x41e0000000000000, 0x41efffffffe00000, 0x41f0000000000000, // 2^31-1, -2^31, 2^31, 2^32-1, 2^32
        0x43e0000000000000, 0xc3e0000000000000, 0x43f0000000000000, 0x41dfffffffe00000, 0xc1e0000000100000, // 2^63, -2^63, 2^64, 2^31-0.5, -2^31-0.5
        0x3ff8000000000000, 0x4004000000000000, 0xbfe8000000000000, 0x3fe0000000000001, // 1.5, 2.5, -0.75, 0.5+ulp
        0x36a0000000000000, 0x47efffffe0000000, 0x3810000000000000, // tiny for single, FLT_MAX, FLT_MIN as double
    ];

    private static readonly uint[] EdgeS =
    [
        0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7fc00123, 0x7f800001, 0xff900000,
        0x00000001, 0x807fffff, 0x00400000, 0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, 0x3f000000,
        0x4effffff, 0xcf000000, 0x4f000000, 0x4f7fffff, 0x4f800000, 0x5f000000, 0xdf000000, 0x5f800000,
        0x3fc00000, 0x40200000, 0xbf400000, 0x3f000001, 0x4b000000, 0x4b7fffff, 0x33800000,
    ];

    public static ulong Box(uint s) => 0xffffffff00000000UL | s;

    public static ulong RandomD(Random r) => r.Next(8) switch
    {
        0 or 1 or 2 => EdgeD[r.Next(EdgeD.Length)],
        3 => (ulong)BitConverter.DoubleToInt64Bits(r.Next(-100000, 100000) / (double)(1 << r.Next(0, 12))),
        4 => (ulong)BitConverter.DoubleToInt64Bits(Math.ScaleB(1.0, r.Next(20, 66)) + r.Next(-3, 4) * 0.25) ^ ((ulong)r.Next(2) << 63),
        5 => (ulong)r.NextInt64(1L << 52) ^ ((ulong)r.Next(2) << 63),
        // random finite double of moderate exponent
        _ => ((ulong)r.NextInt64(1L << 52)) | ((ulong)r.Next(1023 - 80, 1023 + 80) << 52) | ((ulong)r.Next(2) << 63),
    };

    public static ulong RandomS(Random r) => Box(r.Next(8) switch
    {
        0 or 1 or 2 => EdgeS[r.Next(EdgeS.Length)],
        3 => (uint)BitConverter.SingleToInt32Bits((float)(r.Next(-1000, 1000) / (double)(1 << r.Next(0, 8)))),
        4 => (uint)BitConverter.SingleToInt32Bits((float)Math.ScaleB(1.0, r.Next(20, 66)) + r.Next(-3, 4) * 0.25f) ^ ((uint)r.Next(2) << 31),
        5 => (uint)r.Next(1 << 23) | ((uint)r.Next(2) << 31),
        _ => (uint)r.Next(1 << 23) | ((uint)r.Next(127 - 40, 127 + 40) << 23) | ((uint)r.Next(2) << 31),
    });

    public static ulong RandomF(Random r)
    {
        switch (r.Next(16))
        {
            case 0: case 1: case 2: return EdgeD[r.Next(EdgeD.Length)];
            case 3: case 4: case 5: return Box(EdgeS[r.Next(EdgeS.Length)]);
            case 6: // improperly NaN-boxed single
                return r.Next(3) switch
                {
                    0 => EdgeS[r.Next(EdgeS.Length)],
                    1 => 0xfffffffe00000000UL | EdgeS[r.Next(EdgeS.Length)],
                    _ => 0x7fffffff00000000UL | (uint)r.NextInt64(),
                };
            case 7: case 8: // random single, boxed
                return Box((uint)r.NextInt64());
            case 9: // "nice" single: small integer or fraction
                return Box((uint)BitConverter.SingleToInt32Bits((float)(r.Next(-1000, 1000) / (double)(1 << r.Next(0, 8)))));
            case 10: // "nice" double
                return (ulong)BitConverter.DoubleToInt64Bits(r.Next(-100000, 100000) / (double)(1 << r.Next(0, 12)));
            case 11: // double near an integer boundary
                return (ulong)BitConverter.DoubleToInt64Bits(Math.ScaleB(1.0, r.Next(20, 66)) + r.Next(-3, 4) * 0.25) ^ ((ulong)r.Next(2) << 63);
            case 12: // random subnormal-ish
                return r.Next(2) == 0 ? (ulong)r.NextInt64(1L << 52) : Box((uint)r.Next(1 << 23) | ((uint)r.Next(2) << 31));
            default:
                return (ulong)r.NextInt64() ^ ((ulong)r.Next(2) << 63);
        }
    }

    internal static string Hex(ulong v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
}

/// <summary>Builds the items of one stream.</summary>
internal sealed class StreamBuilder
{
    private readonly Random _r;
    private readonly GeneratorOptions _opt;
    private readonly List<StreamItem> _items = [];
    private int _count; // instructions emitted (approximate)

    public StreamBuilder(Random r, GeneratorOptions opt) { _r = r; _opt = opt; }

    /// <summary>The status register the stream's mode reaches: mstatus, or sstatus (vsstatus underneath) in VS-mode.</summary>
    private string Status => _opt.VirtualSupervisor ? "sstatus" : "mstatus";
    public List<StreamItem> Items => _items;

    // Writable integer registers: everything but x0, x2 (sp) and x8 (s0).
    private static readonly int[] Wx = [1, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31];
    private static readonly int[] Cx = [9, 10, 11, 12, 13, 14, 15]; // rd' for compressed (x8 reserved)

    private bool On(string g) => !_opt.Disabled.Contains(g);

    private string Rd() => _r.Next(25) == 0 ? "x0" : "x" + Wx[_r.Next(Wx.Length)];
    private string Rw() => "x" + Wx[_r.Next(Wx.Length)];
    private string Rs() => "x" + _r.Next(32);
    private string Fr() => "f" + _r.Next(32);
    /// <summary>An FP register, mostly from the half that holds values of this precision.</summary>
    private string Fr(string t) => _r.Next(7) == 0 ? Fr() : "f" + (_r.Next(16) + (t == "s" ? 16 : 0));
    private string Cr() => "x" + Cx[_r.Next(Cx.Length)];
    private string Cs() => "x" + _r.Next(8, 16);
    private T Pick<T>(T[] a) => a[_r.Next(a.Length)];

    private int Imm12() => _r.Next(6) switch
    {
        0 => Pick(new[] { 0, 1, -1, 2047, -2048, 31, 32, 63, 64, -32 }),
        1 => _r.Next(-16, 17),
        _ => _r.Next(-2048, 2048),
    };

    private int Sh(int max) => _r.Next(3) == 0 ? Pick(new[] { 0, 1, max / 2 - 1, max / 2, max - 1 }) : _r.Next(max);

    private static readonly string[] Rm = ["", ", rne", ", rtz", ", rdn", ", rup", ", rmm", ", dyn"];
    private string RoundingMode() => Pick(Rm);

    private void Add(string group, params string[] lines)
    {
        _items.Add(new StreamItem(_items.Count, group, lines));
        _count += lines.Length;
    }

    private void AddC(params string[] lines)
    {
        _items.Add(new StreamItem(_items.Count, "c", lines) { Compressed = true });
        _count += lines.Length;
    }

    private void AddBranch(string group, bool compressed, params string[] lines)
    {
        int skip = _r.Next(0, 6); // number of following items skipped when taken
        _items.Add(new StreamItem(_items.Count, group, lines)
        {
            TargetOrdinal = _items.Count + 1 + skip, Compressed = compressed,
        });
        _count += lines.Length;
    }

    public void Build(int n)
    {
        var weighted = new List<(string Group, int Weight, Action Gen)>
        {
            ("alu", 18, Alu), ("m", 7, Mul), ("a", 5, Amo), ("ls", 12, LoadStore), ("f", 11, FpS), ("d", 11, FpD),
            ("fcvt", 8, FpConvert), ("c", 10, Compressed), ("zba", 3, Zba), ("zbb", 5, Zbb), ("zbs", 3, Zbs),
            ("csr", 3, Csr), ("branch", 5, Branch), ("misc", 1, Misc), ("trap", 3, Trap),
        };
        weighted.RemoveAll(w => !On(w.Group));
        if (weighted.Count == 0) throw new InvalidOperationException("all instruction groups disabled");
        int total = weighted.Sum(w => w.Weight);
        while (_count < n)
        {
            int p = _r.Next(total);
            foreach (var w in weighted)
            {
                if (p < w.Weight) { w.Gen(); break; }
                p -= w.Weight;
            }
        }
    }

    // ---------------------------------------------------------------- integer

    private static readonly string[] AluR = ["add", "sub", "sll", "slt", "sltu", "xor", "srl", "sra", "or", "and", "addw", "subw", "sllw", "srlw", "sraw"];
    private static readonly string[] AluI = ["addi", "slti", "sltiu", "xori", "ori", "andi", "addiw"];

    private void Alu()
    {
        switch (_r.Next(10))
        {
            case <= 3: Add("alu", $"{Pick(AluR)} {Rd()}, {Rs()}, {Rs()}"); break;
            case <= 6: Add("alu", $"{Pick(AluI)} {Rd()}, {Rs()}, {Imm12()}"); break;
            case 7:
                var op = Pick(new[] { "slli", "srli", "srai", "slliw", "srliw", "sraiw" });
                Add("alu", $"{op} {Rd()}, {Rs()}, {Sh(op.EndsWith('w') ? 32 : 64)}");
                break;
            case 8: Add("alu", $"lui {Rd()}, {RandomStreamGenerator.Hex((ulong)_r.Next(1 << 20))}"); break;
            default: Add("alu", $"auipc {Rd()}, {RandomStreamGenerator.Hex((ulong)_r.Next(1 << 20))}"); break;
        }
    }

    private static readonly string[] MulOps = ["mul", "mulh", "mulhsu", "mulhu", "div", "divu", "rem", "remu", "mulw", "divw", "divuw", "remw", "remuw"];
    private void Mul() => Add("m", $"{Pick(MulOps)} {Rd()}, {Rs()}, {Rs()}");

    private static readonly string[] AmoOps = ["amoswap", "amoadd", "amoxor", "amoand", "amoor", "amomin", "amomax", "amominu", "amomaxu"];
    private static readonly string[] Ordering = ["", "", ".aq", ".rl", ".aqrl"];

    private void Amo()
    {
        bool d = _r.Next(2) == 0;
        int size = d ? 8 : 4;
        string w = d ? ".d" : ".w";
        string rt = Rw();
        int off = _r.Next(-2048 / size, 2048 / size) * size;
        string addr = $"addi {rt}, x8, {off}";
        switch (_r.Next(6))
        {
            case 0: // LR immediately followed by SC to the same address: succeeds
            case 1:
            {
                string rd;
                do rd = Rw(); while (rd == rt);
                Add("a", addr, $"lr{w}{Pick(Ordering)} {rd}, ({rt})", $"sc{w}{Pick(Ordering)} {Rd()}, {Rs()}, ({rt})");
                break;
            }
            case 2: // SC without a reservation: must fail (every LR above is consumed by its SC)
                Add("a", addr, $"sc{w}{Pick(Ordering)} {Rd()}, {Rs()}, ({rt})");
                break;
            default:
                Add("a", addr, $"{Pick(AmoOps)}{w}{Pick(Ordering)} {Rd()}, {Rs()}, ({rt})");
                break;
        }
    }

    private static readonly (string Op, int Size)[] IntLoads = [("lb", 1), ("lbu", 1), ("lh", 2), ("lhu", 2), ("lw", 4), ("lwu", 4), ("ld", 8)];
    private static readonly (string Op, int Size)[] IntStores = [("sb", 1), ("sh", 2), ("sw", 4), ("sd", 8)];

    /// <summary>A base register and offset such that [base+off, base+off+size) lies in the data area.</summary>
    private (string Base, int Off) Address(int size)
    {
        bool mis = On("misaligned") && _r.Next(4) == 0;
        bool useS0 = _r.Next(3) != 0;
        int baseOff = useS0 ? DiffProgram.S0Offset : DiffProgram.SpOffset;
        int lo = Math.Max(-2048, -baseOff);
        int hi = Math.Min(2047, DiffProgram.DataAreaSize - baseOff - size);
        int off = _r.Next(lo, hi + 1);
        if (!mis) off -= ((off + baseOff) % size + size) % size;
        if (off < lo) off += size;
        return (useS0 ? "x8" : "x2", off);
    }

    private void LoadStore()
    {
        switch (_r.Next(8))
        {
            case <= 2:
            {
                var (op, size) = Pick(IntLoads);
                var (b, off) = Address(size);
                Add("ls", $"{op} {Rd()}, {off}({b})");
                break;
            }
            case <= 5:
            {
                var (op, size) = Pick(IntStores);
                var (b, off) = Address(size);
                Add("ls", $"{op} {Rs()}, {off}({b})");
                break;
            }
            case 6:
            {
                bool d = _r.Next(2) == 0;
                var (b, off) = Address(d ? 8 : 4);
                Add("ls", $"{(d ? "fld" : "flw")} {Fr(d ? "d" : "s")}, {off}({b})");
                break;
            }
            default:
            {
                bool d = _r.Next(2) == 0;
                var (b, off) = Address(d ? 8 : 4);
                Add("ls", $"{(d ? "fsd" : "fsw")} {Fr(d ? "d" : "s")}, {off}({b})");
                break;
            }
        }
    }

    // ---------------------------------------------------------------- floating point

    private void FpS() => FpArith("s", "f");
    private void FpD() => FpArith("d", "d");

    private void FpArith(string t, string group)
    {
        switch (_r.Next(14))
        {
            case <= 3: Add(group, $"{Pick(new[] { "fadd", "fsub", "fmul", "fdiv" })}.{t} {Fr(t)}, {Fr(t)}, {Fr(t)}{RoundingMode()}"); break;
            case 4: Add(group, $"fsqrt.{t} {Fr(t)}, {Fr(t)}{RoundingMode()}"); break;
            case <= 6: Add(group, $"{Pick(new[] { "fmadd", "fmsub", "fnmadd", "fnmsub" })}.{t} {Fr(t)}, {Fr(t)}, {Fr(t)}, {Fr(t)}{RoundingMode()}"); break;
            case 7: Add(group, $"{Pick(new[] { "fmin", "fmax" })}.{t} {Fr(t)}, {Fr(t)}, {Fr(t)}"); break;
            case 8: Add(group, $"{Pick(new[] { "fsgnj", "fsgnjn", "fsgnjx" })}.{t} {Fr(t)}, {Fr(t)}, {Fr(t)}"); break;
            case 9: Add(group, $"{Pick(new[] { "feq", "flt", "fle" })}.{t} {Rd()}, {Fr(t)}, {Fr(t)}"); break;
            case 10: Add(group, $"fclass.{t} {Rd()}, {Fr(t)}"); break;
            case 11: Add(group, t == "s" ? $"fmv.x.w {Rd()}, {Fr(t)}" : $"fmv.x.d {Rd()}, {Fr(t)}"); break;
            case 12: Add(group, t == "s" ? $"fmv.w.x {Fr(t)}, {Rs()}" : $"fmv.d.x {Fr(t)}, {Rs()}"); break;
            default: // same-register operands (x op x) are a classic source of edge cases
            {
                string a = Fr(t);
                Add(group, $"{Pick(new[] { "fadd", "fsub", "fmul", "fdiv", "fmin", "fmax", "fsgnjn" })}.{t} {Fr(t)}, {a}, {a}");
                break;
            }
        }
    }

    private void FpConvert()
    {
        string t = _r.Next(2) == 0 ? "s" : "d";
        switch (_r.Next(5))
        {
            case <= 1: Add("fcvt", $"fcvt.{Pick(new[] { "w", "wu", "l", "lu" })}.{t} {Rd()}, {Fr(t)}{RoundingMode()}"); break;
            case 2:
            {
                string it = Pick(new[] { "w", "wu", "l", "lu" });
                bool exact = t == "d" && (it == "w" || it == "wu");
                Add("fcvt", $"fcvt.{t}.{it} {Fr(t)}, {Rs()}{(exact ? "" : RoundingMode())}");
                break;
            }
            case 3: Add("fcvt", $"fcvt.s.d {Fr("s")}, {Fr("d")}{RoundingMode()}"); break;
            default: Add("fcvt", $"fcvt.d.s {Fr("d")}, {Fr("s")}"); break;
        }
    }

    // ---------------------------------------------------------------- compressed

    private int CImm6() => _r.Next(-32, 32);
    private int CNzImm6() { int v; do v = CImm6(); while (v == 0); return v; }

    private void Compressed()
    {
        switch (_r.Next(24))
        {
            case 0: AddC($"c.addi {Rw()}, {CNzImm6()}"); break;
            case 1: AddC($"c.addiw {Rw()}, {CImm6()}"); break;
            case 2: AddC($"c.li {Rw()}, {CImm6()}"); break;
            case 3:
            {
                int v = _r.Next(2) == 0 ? _r.Next(1, 32) : _r.Next(0xfffe0, 0x100000);
                AddC($"c.lui {Rw()}, {RandomStreamGenerator.Hex((ulong)v)}");
                break;
            }
            case 4: AddC($"c.slli {Rw()}, {_r.Next(1, 64)}"); break;
            case 5: AddC($"{Pick(new[] { "c.srli", "c.srai" })} {Cr()}, {_r.Next(1, 64)}"); break;
            case 6: AddC($"c.andi {Cr()}, {CImm6()}"); break;
            case 7: AddC($"c.mv {Rw()}, x{_r.Next(1, 32)}"); break;
            case 8: AddC($"c.add {Rw()}, x{_r.Next(1, 32)}"); break;
            case 9: case 10: AddC($"{Pick(new[] { "c.and", "c.or", "c.xor", "c.sub", "c.addw", "c.subw" })} {Cr()}, {Cs()}"); break;
            case 11: AddC($"c.lw {Cr()}, {_r.Next(32) * 4}(x8)"); break;
            case 12: AddC($"c.ld {Cr()}, {_r.Next(32) * 8}(x8)"); break;
            case 13: AddC($"c.sw {Cs()}, {_r.Next(32) * 4}(x8)"); break;
            case 14: AddC($"c.sd {Cs()}, {_r.Next(32) * 8}(x8)"); break;
            case 15: AddC(_r.Next(2) == 0 ? $"c.fld f{_r.Next(8, 16)}, {_r.Next(32) * 8}(x8)" : $"c.fsd f{_r.Next(8, 16)}, {_r.Next(32) * 8}(x8)"); break;
            case 16: AddC(_r.Next(2) == 0 ? $"c.lwsp {Rw()}, {_r.Next(64) * 4}(x2)" : $"c.ldsp {Rw()}, {_r.Next(64) * 8}(x2)"); break;
            case 17: AddC(_r.Next(2) == 0 ? $"c.swsp {Rs()}, {_r.Next(64) * 4}(x2)" : $"c.sdsp {Rs()}, {_r.Next(64) * 8}(x2)"); break;
            case 18: AddC(_r.Next(2) == 0 ? $"c.fldsp {Fr()}, {_r.Next(64) * 8}(x2)" : $"c.fsdsp {Fr()}, {_r.Next(64) * 8}(x2)"); break;
            case 19: AddC($"c.addi4spn {Cr()}, x2, {_r.Next(1, 256) * 4}"); break;
            case 20:
            {
                int imm;
                do imm = _r.Next(-31, 32) * 16; while (imm == 0);
                AddC($"c.addi16sp x2, {imm}", $"c.ldsp {Rw()}, {_r.Next(64) * 8}(x2)", $"c.addi16sp x2, {-imm}");
                break;
            }
            case 21: AddC("c.nop"); break;
            case 22:
            {
                // compressed control transfer
                switch (_r.Next(4))
                {
                    case 0: AddBranch("c", true, $"c.j {StreamItem.LabelToken}"); break;
                    case 1: AddBranch("c", true, $"{Pick(new[] { "c.beqz", "c.bnez" })} {Cs()}, {StreamItem.LabelToken}"); break;
                    default:
                    {
                        string rt = Rw();
                        AddBranch("c", true, $"la {rt}, {StreamItem.LabelToken}", $"{Pick(new[] { "c.jr", "c.jalr" })} {rt}");
                        break;
                    }
                }
                break;
            }
            default: AddC($"c.addi {Rw()}, {CNzImm6()}"); break;
        }
    }

    // ---------------------------------------------------------------- bit manipulation

    private static readonly string[] ZbaR = ["add.uw", "sh1add", "sh2add", "sh3add", "sh1add.uw", "sh2add.uw", "sh3add.uw"];
    private void Zba()
    {
        if (_r.Next(5) == 0) Add("zba", $"slli.uw {Rd()}, {Rs()}, {Sh(64)}");
        else Add("zba", $"{Pick(ZbaR)} {Rd()}, {Rs()}, {Rs()}");
    }

    private static readonly string[] ZbbR = ["andn", "orn", "xnor", "max", "maxu", "min", "minu", "rol", "rolw", "ror", "rorw"];
    private static readonly string[] ZbbU = ["clz", "clzw", "ctz", "ctzw", "cpop", "cpopw", "sext.b", "sext.h", "zext.h", "orc.b", "rev8"];
    private void Zbb()
    {
        switch (_r.Next(5))
        {
            case 0 when _r.Next(4) == 0:
            {
                // Oracle bug workaround: QEMU 7.2's ctzw counts into the upper word when the low word is
                // zero (ctzw of 0x8000000000000000 gives 63, not 32). With the upper word all ones QEMU is
                // right, and the result still depends only on the low word (0..32).
                string rs = Rs(), rt;
                do rt = Rw(); while (rt == rs);
                Add("zbb", $"addi {rt}, x0, -1", $"slli {rt}, {rt}, 32", $"or {rt}, {rt}, {rs}", $"ctzw {Rd()}, {rt}");
                break;
            }
            case <= 1: Add("zbb", $"{Pick(ZbbR)} {Rd()}, {Rs()}, {Rs()}"); break;
            case <= 3:
            {
                string op;
                do op = Pick(ZbbU); while (op == "ctzw"); // see above
                Add("zbb", $"{op} {Rd()}, {Rs()}");
                break;
            }
            default: Add("zbb", _r.Next(2) == 0 ? $"rori {Rd()}, {Rs()}, {Sh(64)}" : $"roriw {Rd()}, {Rs()}, {Sh(32)}"); break;
        }
    }

    private void Zbs()
    {
        if (_r.Next(2) == 0) Add("zbs", $"{Pick(new[] { "bclr", "bext", "binv", "bset" })} {Rd()}, {Rs()}, {Rs()}");
        else Add("zbs", $"{Pick(new[] { "bclri", "bexti", "binvi", "bseti" })} {Rd()}, {Rs()}, {Sh(64)}");
    }

    // ---------------------------------------------------------------- CSR

    /// <summary>fcsr/frm/fflags accesses that keep frm valid (0..4), so dynamic-rounding instructions
    /// never become illegal: writes use frm values 0..4, csrrs never sets frm bits (csrrc may clear any,
    /// which keeps a valid frm valid). Bits above the fields get garbage, which must be ignored.</summary>
    private void Csr()
    {
        string rd = Rd();
        ulong garbage = _r.Next(2) == 0 ? 0 : (ulong)_r.NextInt64() & ~0xffUL;
        ulong frm = (ulong)_r.Next(5);
        ulong flags = (ulong)_r.Next(32);
        string rt = Rw();
        switch (_r.Next(12))
        {
            case 0: Add("csr", $"li {rt}, {RandomStreamGenerator.Hex(garbage | frm << 5 | flags)}", $"csrrw {rd}, fcsr, {rt}"); break;
            case 1: Add("csr", $"li {rt}, {RandomStreamGenerator.Hex(garbage | flags)}", $"csrrs {rd}, fcsr, {rt}"); break;
            case 2: Add("csr", $"csrrc {rd}, {Pick(new[] { "fcsr", "frm", "fflags" })}, {Rs()}"); break;
            case 3: Add("csr", $"li {rt}, {RandomStreamGenerator.Hex((garbage & ~0xf8UL) | frm)}", $"csrrw {rd}, frm, {rt}"); break;
            case 4: Add("csr", $"li {rt}, {RandomStreamGenerator.Hex(garbage & ~0xffUL)}", $"csrrs {rd}, frm, {rt}"); break;
            case 5: Add("csr", $"{Pick(new[] { "csrrw", "csrrs", "csrrc" })} {rd}, fflags, {Rs()}"); break;
            case 6: Add("csr", $"csrrwi {rd}, {Pick(new[] { "fcsr", "fflags" })}, {flags}"); break;
            case 7: Add("csr", $"{Pick(new[] { "csrrsi", "csrrci" })} {rd}, {Pick(new[] { "fcsr", "fflags" })}, {flags}"); break;
            case 8: Add("csr", $"csrrwi {rd}, frm, {frm | (ulong)_r.Next(4) << 3}"); break;
            case 9: Add("csr", _r.Next(2) == 0 ? $"csrrsi {rd}, frm, {(ulong)_r.Next(4) << 3}" : $"csrrci {rd}, frm, {_r.Next(32)}"); break;
            default: Add("csr", $"csrr {Rw()}, {Pick(new[] { "fcsr", "frm", "fflags" })}"); break;
        }
    }

    // ---------------------------------------------------------------- control flow

    private void Branch()
    {
        switch (_r.Next(8))
        {
            case <= 4:
                AddBranch("branch", false, $"{Pick(new[] { "beq", "bne", "blt", "bge", "bltu", "bgeu" })} {Rs()}, {Rs()}, {StreamItem.LabelToken}");
                break;
            case 5: AddBranch("branch", false, $"jal {Rd()}, {StreamItem.LabelToken}"); break;
            default:
            {
                // jalr through a register holding (target - k); rd may equal the address register
                string rt = Rw();
                int k = _r.Next(-16, 17) * 2;
                AddBranch("branch", false, $"la {rt}, {StreamItem.LabelToken}{(k >= 0 ? $"-{k}" : $"+{-k}")}", $"jalr {Rd()}, {k}({rt})");
                break;
            }
        }
    }

    // ---------------------------------------------------------------- traps

    private const int Illegal = 2, Breakpoint = 3, LoadMisaligned = 4, LoadFault = 5, StoreMisaligned = 6, StoreFault = 7, EcallM = 11;

    private void AddTrap(int cause, int trapAt, bool compressed, params string[] lines)
    {
        _items.Add(new StreamItem(_items.Count, "trap", lines) { TrapAt = trapAt, ExpectedCause = cause, Compressed = compressed });
        _count += lines.Length;
    }

    private static string Word(uint w) => $".word 0x{w:x8}";
    private static string Half(uint h) => $".half 0x{h:x4}";
    private static uint R(uint opcode, int rd, int f3, int rs1, int rs2, int f7) =>
        opcode | (uint)rd << 7 | (uint)f3 << 12 | (uint)rs1 << 15 | (uint)rs2 << 20 | (uint)f7 << 25;
    private int WxN() => Wx[_r.Next(Wx.Length)];

    /// <summary>
    /// Items that trap on purpose (the handler logs mcause, mepc, mtval, mstatus bits and skips the
    /// instruction): illegal 32/16-bit encodings, FP with reserved static/dynamic rounding modes, FP with
    /// mstatus.FS = Off, illegal CSR accesses, ecall/ebreak/c.ebreak, loads/stores to unmapped physical
    /// addresses, misaligned LR/AMO. Every such instruction is its item's <see cref="StreamItem.TrapAt"/>.
    /// </summary>
    private void Trap()
    {
        switch (_r.Next(21))
        {
            case 20:
            {
                // mstatus as the stream sees it: MIE, MPIE, MPP (after a trap's mret: MPIE = 1, MPP = U),
                // FS and SD (always Dirty here: FS-off items restore it). Not a trap.
                string rt = Rw(), rm;
                do rm = Rw(); while (rm == rt);
                Add("trap", $"csrr {rt}, {Status}", $"li {rm}, 0x8000000000007888", $"and {Rd()}, {rt}, {rm}");
                break;
            }
            case 0: case 1: IllegalWord(); break;
            case 2: case 3: IllegalHalf(); break;
            case 4: case 5: StaticReservedRm(); break;
            case 6: DynamicReservedRm(); break;
            case 7: case 8: FpWithFsOff(); break;
            case 9: case 10: case 11: IllegalCsr(); break;
            case 12: AddTrap(EcallM, 0, false, "ecall"); break;
            case 13: AddTrap(Breakpoint, 0, false, "ebreak"); break;
            case 14: AddTrap(Breakpoint, 0, true, "c.ebreak"); break;
            case 15: case 16: case 17: AccessFault(); break;
            default: MisalignedAtomic(); break;
        }
    }

    /// <summary>Reserved/unallocated 32-bit encodings (none is used by any extension QEMU 7.2 enables by
    /// default: V, H, Zicbo*, Zbc, K..., nor by Zicond/Zacas/Zabha/Zfh/Q).</summary>
    private void IllegalWord()
    {
        int rd = WxN(), rs1 = _r.Next(32), rs2 = _r.Next(32);
        uint w = _r.Next(10) switch
        {
            // SYSTEM funct3 = 0: uret (no N extension), funct12 = 3, ecall/ebreak with rd or rs1 != 0
            9 => Pick(new[]
            {
                0x00200073u, 0x00300073u, 0x00000073u | (uint)rd << 7, 0x00100073u | (uint)rd << 7,
                0x00000073u | (uint)_r.Next(1, 32) << 15, 0x00100073u | (uint)_r.Next(1, 32) << 15,
            }),
            // reserved / custom major opcodes (all 32-bit long by their low bits)
            0 => ((uint)_r.NextInt64() << 7) | Pick(new uint[] { 0x0b, 0x2b, 0x5b, 0x7b, 0x6b, 0x77 }),
            // LOAD funct3 = 7 (RV128 ldu), base s0, offset in the data area
            1 => R(0x03, rd, 7, 8, 0, 0) | (uint)(_r.Next(-32, 32) * 8 & 0xfff) << 20,
            // STORE funct3 = 4..7
            2 => R(0x23, 0, _r.Next(4, 8), 8, rs2, 0) | (uint)(_r.Next(0, 32) * 8) << 7 & 0xf80,
            // BRANCH funct3 = 2, 3 (offset +4: a decoder that ignores funct3 still falls through)
            3 => R(0x63, 0, _r.Next(2, 4), rs1, rs2, 0) | 2u << 8,
            // OP / OP-32 with an unallocated funct7
            4 => R(0x33, rd, _r.Next(8), rs1, rs2, Pick(new[] { 0x02, 0x03, 0x06, 0x08, 0x40, 0x42 })),
            5 => R(0x3b, rd, _r.Next(8), rs1, rs2, Pick(new[] { 0x02, 0x03, 0x08, 0x40, 0x42 })),
            // OP-IMM-32 funct3 = 2, 3, 4, 6, 7
            6 => R(0x1b, rd, Pick(new[] { 2, 3, 4, 6, 7 }), rs1, 0, 0) | (uint)_r.Next(4096) << 20,
            // AMO funct3 = 5..7
            7 => R(0x2f, rd, _r.Next(5, 8), 8, rs2, _r.Next(128)),
            // quad-precision OP-FP (fmt = 3; no Q extension): fadd.q/fsub.q/fmul.q/fdiv.q, rm = rne
            _ => R(0x53, _r.Next(32), 0, _r.Next(32), _r.Next(32), Pick(new[] { 0x03, 0x07, 0x0b, 0x0f })),
        };
        AddTrap(Illegal, 0, false, Word(w));
    }

    /// <summary>Reserved 16-bit encodings.</summary>
    private void IllegalHalf()
    {
        uint h = _r.Next(8) switch
        {
            0 => 0x0000,                                                       // all zeros (defined illegal)
            1 => (uint)_r.Next(8) << 2,                                        // c.addi4spn with nzuimm = 0
            2 => 0x4002 | (uint)_r.Next(2) << 12 | (uint)_r.Next(32) << 2,     // c.lwsp rd = 0
            3 => 0x6002 | (uint)_r.Next(2) << 12 | (uint)_r.Next(32) << 2,     // c.ldsp rd = 0
            4 => 0x6001 | (uint)Pick(new[] { 1, 3, 5, 9, 10, 15, 31 }) << 7,   // c.lui rd != 0,2 with imm = 0
            5 => 0x6101,                                                       // c.addi16sp with imm = 0
            6 => 0x8002,                                                       // c.jr rs1 = 0
            _ => 0x9c41 | (uint)_r.Next(8) << 7 | (uint)_r.Next(2) << 5 | (uint)_r.Next(8) << 2, // Q1 funct6 100111, funct2 10/11
        };
        AddTrap(Illegal, 0, false, Half(h));
    }

    /// <summary>An FP instruction that rounds, encoded with rounding mode <paramref name="rm"/>.</summary>
    private uint RoundingFpWord(int rm)
    {
        int dbl = _r.Next(2);
        int fd = _r.Next(32), fs1 = _r.Next(32), fs2 = _r.Next(32);
        switch (_r.Next(6))
        {
            case 0: return R(0x53, fd, rm, fs1, fs2, Pick(new[] { 0x00, 0x04, 0x08, 0x0c }) | dbl); // fadd/fsub/fmul/fdiv
            case 1: return R(0x53, fd, rm, fs1, 0, 0x2c | dbl);                                       // fsqrt
            case 2: return R(0x53, WxN(), rm, fs1, _r.Next(4), 0x60 | dbl);                           // fcvt.{w,wu,l,lu}.{s,d}
            case 3: return R(0x53, fd, rm, _r.Next(32), _r.Next(2, 4), 0x68 | dbl);                   // fcvt.{s,d}.{l,lu}
            case 4: return R(0x53, fd, rm, fs1, 1, 0x20);                                             // fcvt.s.d
            default:                                                                                  // fmadd/fmsub/fnmsub/fnmadd
                return R(Pick(new uint[] { 0x43, 0x47, 0x4b, 0x4f }), fd, rm, fs1, fs2, dbl | _r.Next(32) << 2);
        }
    }

    private void StaticReservedRm() => AddTrap(Illegal, 0, false, Word(RoundingFpWord(_r.Next(5, 7))));

    /// <summary>frm set to 5..7, then a dynamic-rounding FP instruction; frm restored afterwards.</summary>
    private void DynamicReservedRm()
    {
        string rt = Rw();
        AddTrap(Illegal, 1, false, $"csrrwi {rt}, frm, {_r.Next(5, 8)}", Word(RoundingFpWord(7)), $"csrw frm, {rt}");
    }

    /// <summary>mstatus.FS = Off around one FP instruction (any kind, including FP CSRs and compressed
    /// FP loads/stores); FS is restored to Dirty after.</summary>
    private void FpWithFsOff()
    {
        string rt = Rw();
        bool c = false;
        string fp;
        switch (_r.Next(12))
        {
            case 0: fp = $"fadd.d {Fr("d")}, {Fr("d")}, {Fr("d")}"; break;
            case 1: fp = $"fmul.s {Fr("s")}, {Fr("s")}, {Fr("s")}{RoundingMode()}"; break;
            case 2: fp = $"fmv.x.d {Rw()}, {Fr()}"; break;
            case 3: fp = $"fmv.w.x {Fr()}, {Rs()}"; break;
            case 4: fp = $"fsgnj.d {Fr()}, {Fr()}, {Fr()}"; break;
            case 5: fp = $"{Pick(new[] { "fld", "fsd" })} {Fr()}, {_r.Next(-32, 32) * 8}(x8)"; break;
            case 6: fp = $"{Pick(new[] { "flw", "fsw" })} {Fr()}, {_r.Next(-32, 32) * 4}(x8)"; break;
            case 7: fp = $"{Pick(new[] { "c.fld", "c.fsd" })} f{_r.Next(8, 16)}, {_r.Next(32) * 8}(x8)"; c = true; break;
            case 8: fp = $"{Pick(new[] { "c.fldsp", "c.fsdsp" })} {Fr()}, {_r.Next(64) * 8}(x2)"; c = true; break;
            case 9: fp = $"csrr {Rw()}, {Pick(new[] { "fcsr", "frm", "fflags" })}"; break;
            case 10: fp = $"fcvt.w.d {Rw()}, {Fr("d")}, rtz"; break;
            default: fp = $"fclass.s {Rw()}, {Fr("s")}"; break;
        }
        AddTrap(Illegal, 2, c, "li " + rt + ", 0x6000", $"csrc {Status}, {rt}", fp, $"csrs {Status}, {rt}");
    }

    /// <summary>Numbers allocated to no CSR in QEMU 7.2 (default rv64 CPU, incl. H) nor in Isomorph.</summary>
    private static readonly int[] NoCsr = [0x004, 0x005, 0x040, 0x041, 0x044, 0x0ff, 0x1ff, 0x3ff, 0x5c0, 0x7c0, 0x7ff, 0x800, 0x8ff, 0xbc0, 0xfc0];
    /// <summary>Read-only CSRs (address bits 11:10 = 11): any write is illegal, whether or not they exist.</summary>
    private static readonly int[] ReadOnlyCsr = [0xc00, 0xc01, 0xc02, 0xc03, 0xc1f, 0xf11, 0xf12, 0xf13, 0xf14, 0xf15];

    private void IllegalCsr()
    {
        string rd = Rd();
        if (_r.Next(2) == 0)
        {
            string csr = "0x" + Pick(NoCsr).ToString("x3");
            AddTrap(Illegal, 0, false, _r.Next(4) switch
            {
                0 => $"csrr {rd}, {csr}",
                1 => $"{Pick(new[] { "csrrw", "csrrs", "csrrc" })} {rd}, {csr}, {Rs()}",
                2 => $"{Pick(new[] { "csrrwi", "csrrsi", "csrrci" })} {rd}, {csr}, {_r.Next(32)}",
                _ => $"csrw {csr}, {Rs()}",
            });
        }
        else
        {
            // a write: csrrw always; csrrs/csrrc with rs1 != x0 (spec: whatever its value; QEMU 7.2 decides
            // "is a write" from the value, so rs1 is loaded with a nonzero value in the same item, see
            // README); csrrwi always; csrrsi/csrrci with uimm != 0
            string csr = "0x" + Pick(ReadOnlyCsr).ToString("x3");
            string rt = Rw();
            int kind = _r.Next(4);
            if (kind == 1)
            {
                AddTrap(Illegal, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(RandomNonzero())}",
                    $"{Pick(new[] { "csrrs", "csrrc" })} {rd}, {csr}, {rt}");
                return;
            }
            AddTrap(Illegal, 0, false, kind switch
            {
                0 => $"csrrw {rd}, {csr}, {Rs()}",
                2 => $"csrrwi {rd}, {csr}, {_r.Next(32)}",
                _ => $"{Pick(new[] { "csrrsi", "csrrci" })} {rd}, {csr}, {_r.Next(1, 32)}",
            });
        }
    }

    private ulong RandomNonzero() { ulong v; do v = RandomStreamGenerator.RandomX(_r); while (v == 0); return v; }

    /// <summary>Physical addresses with nothing behind them on QEMU's spike machine (MROM 0x1000-0xffff,
    /// CLINT 0x2000000, RAM 0x80000000) nor on Isomorph's bare machine (CLINT, RAM).</summary>
    private ulong UnmappedAddress() => _r.Next(4) switch
    {
        0 => (ulong)_r.Next(0, 0x100) * 8,                          // 0x0..0x7ff
        1 => 0x10000 + (ulong)_r.Next(0, 0x100000) * 8,             // between MROM and CLINT
        2 => 0x40000000 + (ulong)_r.Next(0, 0x1000000) * 8,
        _ => 0x3000000 + (ulong)_r.Next(0, 0x100000) * 8,
    };

    /// <summary>An aligned load/store (never an AMO: QEMU reports 5 for a faulting AMO, the spec 7) to an
    /// unmapped address: load/store access fault; rd and memory stay unchanged.</summary>
    private void AccessFault()
    {
        ulong a = UnmappedAddress();
        switch (_r.Next(6))
        {
            case 0:
            {
                string rt = Rw();
                var (op, size) = Pick(IntLoads);
                AddTrap(LoadFault, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(a + 64)}", $"{op} {Rd()}, {-64 + _r.Next(0, 16) * 8}({rt})");
                break;
            }
            case 1:
            {
                string rt = Rw();
                var (op, _) = Pick(IntStores);
                AddTrap(StoreFault, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(a)}", $"{op} {Rs()}, 0({rt})");
                break;
            }
            case 2:
            {
                string rt = Rw();
                string op = Pick(new[] { "flw", "fld", "fsw", "fsd" });
                AddTrap(op[1] == 'l' ? LoadFault : StoreFault, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(a)}", $"{op} {Fr()}, 0({rt})");
                break;
            }
            case 3:
            {
                string rt = Cr();
                string op = Pick(new[] { "c.lw", "c.ld", "c.sw", "c.sd" });
                AddTrap(op[2] == 'l' ? LoadFault : StoreFault, 1, true, $"li {rt}, {RandomStreamGenerator.Hex(a)}", $"{op} {(op[2] == 'l' ? Cr() : Cs())}, 0({rt})");
                break;
            }
            case 4:
            {
                // LR is a load: load access fault on both QEMU and the spec
                string rt = Rw();
                AddTrap(LoadFault, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(a)}", $"lr.{Pick(new[] { "w", "d" })} {Rd()}, ({rt})");
                break;
            }
            default:
            {
                string rt = Rw();
                var (op, _) = Pick(IntLoads);
                AddTrap(LoadFault, 1, false, $"li {rt}, {RandomStreamGenerator.Hex(a)}", $"{op} {Rd()}, 0({rt})");
                break;
            }
        }
    }

    /// <summary>LR at a misaligned address in the data area: load address misaligned (4) on both QEMU
    /// and the spec. Misaligned AMOs are not generated: QEMU 7.2 reports them as load address misaligned
    /// (4) where the spec requires store/AMO address misaligned (6) (see README). Misaligned SCs are not
    /// generated either: QEMU 7.2 lets an SC without a reservation fail without checking the address.</summary>
    private void MisalignedAtomic()
    {
        bool d = _r.Next(2) == 0;
        int size = d ? 8 : 4;
        string w = d ? ".d" : ".w";
        string rt = Rw();
        int off = _r.Next(-2048 / size, 2048 / size - 1) * size + _r.Next(1, size);
        AddTrap(LoadMisaligned, 1, false, $"addi {rt}, x8, {off}", $"lr{w}{Pick(Ordering)} {Rd()}, ({rt})");
    }

    private void Misc()
    {
        switch (_r.Next(3))
        {
            case 0: Add("misc", "fence"); break;
            case 1: Add("misc", "fence rw, rw"); break;
            default: Add("misc", "fence.i"); break;
        }
    }
}
