using System.Text;

namespace Isomorph.Linux.Host;

/// <summary>
/// Registering a handler for riscv64 ELF executables with the host kernel's binfmt_misc, so that
/// any host program can execve one and Isomorph runs it (the host → guest direction; issue 14).
/// An entry is one line written to binfmt_misc's <c>register</c> file,
/// <c>:name:M::magic:mask:interpreter:flags</c> (the kernel's Documentation/admin-guide/binfmt-misc):
/// a file matches when its first bytes, ANDed with the mask, equal the magic.
/// </summary>
public static class BinfmtMisc
{
    public const string DefaultMount = "/proc/sys/fs/binfmt_misc";
    public const string EntryName = "isomorph-riscv64";

    /// <summary>
    /// The first 20 bytes of a riscv64 Linux executable: ELF magic, ELFCLASS64, little-endian,
    /// EV_CURRENT, OS ABI, ABI version and padding, e_type (2 bytes), e_machine 243 (EM_RISCV).
    /// </summary>
    public static readonly byte[] Magic = [0x7F, (byte)'E', (byte)'L', (byte)'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 243, 0];

    /// <summary>
    /// Which of <see cref="Magic"/>'s bits must match: all but the OS ABI byte (System V and GNU/Linux
    /// binaries alike) and e_type's lowest bit (ET_EXEC 2 and ET_DYN 3: static-pie and PIE programs).
    /// </summary>
    public static readonly byte[] Mask = [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xFF, 0xFF, 0xFF];

    /// <summary>
    /// The flags, and why: P (preserve-argv0) hands the handler the program's own argv[0], so the
    /// guest sees what its caller passed. Not O (open-binary) nor C (credentials, which implies O):
    /// they give the program to the handler as an open descriptor in the handler's auxiliary vector,
    /// which the handler script cannot pass on to the .NET process. Not F (fix-binary): it pins only
    /// the handler file itself when registered, while the handler is a script that names /bin/sh,
    /// dotnet and Isomorph, which a chroot or container must then hold at the same paths anyway
    /// (a .NET program cannot be the static, self-contained interpreter F is meant for).
    /// </summary>
    public const string Flags = "P";

    /// <summary>The line written to <c>register</c> for <paramref name="handler"/>.</summary>
    public static string Registration(string handler) =>
        $":{EntryName}:M::{Escape(Magic)}:{Escape(Mask)}:{handler}:{Flags}";

    private static string Escape(byte[] bytes) => string.Concat(bytes.Select(b => $"\\x{b:x2}"));

    /// <summary>
    /// The handler the kernel runs as <c>handler PROGRAM ARGV0 ARGS...</c> (with the P flag): a
    /// script that runs <c>isomorph run --argv0 ARGV0 -- PROGRAM ARGS...</c> through
    /// <paramref name="launch"/> (the words that start the isomorph CLI).
    /// </summary>
    public static string HandlerScript(IReadOnlyList<string> launch) =>
        "#!/bin/sh\n" +
        "# Isomorph's binfmt_misc handler for riscv64 ELF executables (written by `isomorph binfmt install`).\n" +
        "# With the P flag the kernel runs: <this script> <program> <the program's argv[0]> <its arguments>...\n" +
        "program=\"$1\"; argv0=\"$2\"; shift 2\n" +
        $"exec {string.Join(' ', launch.Select(Quote))} run --argv0 \"$argv0\" -- \"$program\" \"$@\"\n";

    private static string Quote(string word) => "'" + word.Replace("'", "'\\''") + "'";

    /// <summary>One registered entry, as binfmt_misc shows it.</summary>
    public sealed record Entry(string Name, bool Enabled, string Interpreter, string Flags, int Offset, byte[] Magic, byte[]? Mask)
    {
        /// <summary>Whether this entry would take a riscv64 executable (of either e_type).</summary>
        public bool HandlesRiscv64()
        {
            foreach (byte type in new byte[] { 2, 3 })
            {
                var header = (byte[])BinfmtMisc.Magic.Clone();
                header[16] = type;
                if (Offset < 0 || Offset + Magic.Length > header.Length) return false;
                bool all = true;
                for (int i = 0; i < Magic.Length && all; i++)
                    all = (header[Offset + i] & (Mask?[i] ?? 0xFF)) == Magic[i];
                if (all) return true;
            }
            return false;
        }
    }

    /// <summary>The entries registered under <paramref name="mount"/> (magic ones only: extension entries never take an ELF).</summary>
    public static List<Entry> Entries(string mount)
    {
        var list = new List<Entry>();
        foreach (var path in Directory.EnumerateFiles(mount))
        {
            string name = Path.GetFileName(path);
            if (name is "register" or "status") continue;
            if (Parse(name, File.ReadAllText(path)) is { } entry) list.Add(entry);
        }
        return list;
    }

    /// <summary>An entry file's text ("enabled", "interpreter ...", "flags: ...", "offset N", "magic HEX", "mask HEX"), or null for an extension entry.</summary>
    public static Entry? Parse(string name, string text)
    {
        bool enabled = false;
        string interpreter = "", flags = "";
        int offset = 0;
        byte[]? magic = null, mask = null;
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line == "enabled") enabled = true;
            else if (line.StartsWith("interpreter ", StringComparison.Ordinal)) interpreter = line[12..];
            else if (line.StartsWith("flags:", StringComparison.Ordinal)) flags = line[6..].Trim();
            else if (line.StartsWith("offset ", StringComparison.Ordinal)) int.TryParse(line[7..], out offset);
            else if (line.StartsWith("magic ", StringComparison.Ordinal)) magic = FromHex(line[6..]);
            else if (line.StartsWith("mask ", StringComparison.Ordinal)) mask = FromHex(line[5..]);
        }
        return magic is null ? null : new Entry(name, enabled, interpreter, flags, offset, magic, mask);
    }

    private static byte[]? FromHex(string hex)
    {
        try
        {
            return Convert.FromHexString(hex.Trim());
        }
        catch (FormatException)
        {
            return null;
        }
    }

    /// <summary>Registers <paramref name="handler"/> (writing the line to <c>register</c>).</summary>
    public static void Register(string mount, string handler) =>
        File.WriteAllText(Path.Combine(mount, "register"), Registration(handler), new UTF8Encoding(false));

    /// <summary>Removes the entry <paramref name="name"/> (writing -1 to its file).</summary>
    public static void Remove(string mount, string name) => File.WriteAllText(Path.Combine(mount, name), "-1");
}
