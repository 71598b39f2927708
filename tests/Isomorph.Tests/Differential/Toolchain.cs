using System.Globalization;

namespace Isomorph.Tests.Differential;

/// <summary>riscv64-unknown-elf-gcc / objdump / nm wrapper.</summary>
public static class Toolchain
{
    public const string Gcc = "riscv64-unknown-elf-gcc";
    public const string Objdump = "riscv64-unknown-elf-objdump";
    public const string Nm = "riscv64-unknown-elf-nm";
    public const string March = "rv64gc_zba_zbb_zbs";

    /// <summary>Throws with an explanation when the oracle or the cross toolchain is missing.</summary>
    public static void EnsureAvailable()
    {
        var missing = new List<string>();
        foreach (var tool in new[] { Gcc, Objdump, Nm, QemuOracle.Executable })
            if (ProcessUtil.Which(tool) == null) missing.Add(tool);
        if (missing.Count > 0)
            throw new InvalidOperationException(
                "Differential testing needs the oracle and the cross toolchain, but these are not on PATH: " +
                string.Join(", ", missing) + ". Install them (Debian: apt-get install qemu-system-misc gcc-riscv64-unknown-elf " +
                "binutils-riscv64-unknown-elf) — the test does not skip, so a missing oracle cannot pass unnoticed.");
    }

    private static readonly Lazy<string> LinkerScriptPath = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "isomorph-diff");
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"link-{Environment.ProcessId}.ld");
        File.WriteAllText(path, ProgramWriter.LinkerScript);
        return path;
    });

    /// <summary>Assembles and links <paramref name="asm"/> into <c>dir/name.elf</c> (the source is kept as
    /// <c>dir/name.S</c>). Throws with the assembler's messages on failure.</summary>
    public static string Build(string asm, string dir, string name)
    {
        Directory.CreateDirectory(dir);
        var src = Path.Combine(dir, name + ".S");
        var elf = Path.Combine(dir, name + ".elf");
        File.WriteAllText(src, asm);
        var r = ProcessUtil.Run(Gcc,
            [$"-march={March}", "-mabi=lp64d", "-nostdlib", "-nostartfiles", "-static",
             "-Wl,--no-warn-rwx-segments", "-T", LinkerScriptPath.Value, src, "-o", elf],
            TimeSpan.FromSeconds(120));
        if (r.ExitCode != 0 || r.TimedOut)
            throw new InvalidOperationException($"assembling {src} failed ({r.Describe()}):\n{Truncate(r.Stderr, 4000)}");
        return elf;
    }

    public static Dictionary<string, ulong> Symbols(string elf)
    {
        var r = ProcessUtil.Run(Nm, [elf], TimeSpan.FromSeconds(30));
        var map = new Dictionary<string, ulong>();
        foreach (var line in r.Stdout.Split('\n'))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 3 && ulong.TryParse(parts[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var a))
                map[parts[2]] = a;
        }
        return map;
    }

    /// <summary>objdump -d of the address range [startSymbol, endSymbol).</summary>
    public static string Disassemble(string elf, string startSymbol, string endSymbol)
    {
        var syms = Symbols(elf);
        if (!syms.TryGetValue(startSymbol, out var a) || !syms.TryGetValue(endSymbol, out var b))
            return $"(symbols {startSymbol}/{endSymbol} not found)";
        var r = ProcessUtil.Run(Objdump,
            ["-d", $"-M", "numeric", $"--start-address=0x{a:x}", $"--stop-address=0x{b:x}", elf], TimeSpan.FromSeconds(30));
        var lines = r.Stdout.Split('\n').SkipWhile(l => !l.Contains('>', StringComparison.Ordinal) || !l.EndsWith(">:", StringComparison.Ordinal));
        return string.Join('\n', lines).Trim();
    }

    internal static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + $"\n... ({s.Length - max} more characters)";
}
