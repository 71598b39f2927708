using System.Text;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// The system calls the process VM implements, keyed by riscv64 number and gathered from the
/// <see cref="SyscallAttribute"/>s on the handlers (each handler class's <c>DeclareSyscalls</c>,
/// generated from them by Isomorph.Generators), plus the names of the others for messages.
/// </summary>
public sealed partial class SyscallTable
{
    public delegate long Handler(LinuxProcess process, in SyscallArgs args);

    public sealed record Entry(int Number, string Name, string Arguments, Handler Handler);

    private readonly Dictionary<int, Entry> _entries = [];

    public static SyscallTable Instance { get; } = new();

    private SyscallTable() => DeclareAll();

    private partial void DeclareAll();

    internal void Add(SyscallAttribute a, Handler handler)
    {
        if (!_entries.TryAdd(a.Number, new Entry(a.Number, a.Name, a.Arguments, handler)))
            throw new InvalidOperationException($"system call {a.Number} ({a.Name}) has two handlers");
    }

    public IReadOnlyCollection<Entry> Entries => _entries.Values;

    public Entry? Find(long number) => _entries.GetValueOrDefault((int)number);

    /// <summary>The name of a riscv64 system call, implemented or not ("syscall 999" when unknown).</summary>
    public string NameOf(long number) =>
        Find(number)?.Name ?? (SyscallNames.Riscv64.TryGetValue(number, out var n) ? n : $"syscall {number}");

    /// <summary>The system calls whose result is an address, printed in hex as qemu-user does.</summary>
    private static readonly HashSet<string> ReturnsAddress = ["brk", "mmap", "mremap"];

    /// <summary>One --strace line, as qemu-user's -strace prints it: name(arg,arg) = result (see <see cref="StraceFormat"/>).</summary>
    public string Format(LinuxProcess process, long number, in SyscallArgs args, long? result)
    {
        var entry = Find(number);
        var sb = new StringBuilder();
        string name = NameOf(number);
        sb.Append(name).Append('(');
        string formats = entry?.Arguments ?? "xxxxxx";
        for (int i = 0; i < formats.Length; i++)
        {
            if (!StraceFormat.Shown(formats, i, args)) continue;
            if (i > 0) sb.Append(',');
            StraceFormat.Argument(sb, formats[i], args[i], address => process.Memory.ReadCString(address, 256));
        }
        sb.Append(')');
        if (result is not null) sb.Append(" = ");
        StraceFormat.Result(sb, result, ReturnsAddress.Contains(name));
        return sb.ToString();
    }
}
