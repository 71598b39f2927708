using System.Reflection;
using System.Text;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// The system calls the process VM implements, keyed by riscv64 number and gathered from the
/// <see cref="SyscallAttribute"/>s on the handlers, plus the names of the others for messages.
/// </summary>
public sealed class SyscallTable
{
    public delegate long Handler(LinuxProcess process, in SyscallArgs args);

    public sealed record Entry(int Number, string Name, string Arguments, Handler Handler);

    private readonly Dictionary<int, Entry> _entries = [];

    public static SyscallTable Instance { get; } = new();

    private SyscallTable()
    {
        foreach (var method in typeof(SyscallTable).Assembly.GetTypes()
                     .SelectMany(t => t.GetMethods(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)))
        {
            foreach (var a in method.GetCustomAttributes<SyscallAttribute>())
            {
                var handler = method.CreateDelegate<Handler>();
                if (!_entries.TryAdd(a.Number, new Entry(a.Number, a.Name, a.Arguments, handler)))
                    throw new InvalidOperationException($"system call {a.Number} ({a.Name}) has two handlers");
            }
        }
    }

    public IReadOnlyCollection<Entry> Entries => _entries.Values;

    public Entry? Find(long number) => _entries.GetValueOrDefault((int)number);

    /// <summary>The name of a riscv64 system call, implemented or not ("syscall 999" when unknown).</summary>
    public string NameOf(long number) =>
        Find(number)?.Name ?? (SyscallNames.Riscv64.TryGetValue(number, out var n) ? n : $"syscall {number}");

    /// <summary>One --strace line: name(arguments) = result.</summary>
    public string Format(LinuxProcess process, long number, in SyscallArgs args, long? result)
    {
        var entry = Find(number);
        var sb = new StringBuilder();
        sb.Append(NameOf(number)).Append('(');
        string formats = entry?.Arguments ?? "xxxxxx";
        for (int i = 0; i < formats.Length; i++)
        {
            if (i > 0) sb.Append(", ");
            ulong v = args[i];
            switch (formats[i])
            {
                case 'd': sb.Append((long)v); break;
                case 'i': sb.Append((int)v); break;
                case 'u': sb.Append(v); break;
                case 'o': sb.Append('0').Append(Convert.ToString((long)v, 8)); break;
                case 's':
                    var s = v == 0 ? null : process.Memory.ReadCString(v, 256);
                    sb.Append(s is null ? $"0x{v:x}" : $"\"{Escape(s)}\"");
                    break;
                default: sb.Append("0x").Append(v.ToString("x")); break;
            }
        }
        sb.Append(") = ");
        if (result is not { } r) sb.Append('?');
        else if (r < 0 && r >= -4095) sb.Append("-1 ").Append(Errno.Name(-r));
        else if (r > 0xFFFF) sb.Append("0x").Append(r.ToString("x"));
        else sb.Append(r);
        return sb.ToString();
    }

    private static string Escape(string s) =>
        s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t").Replace("\"", "\\\"");
}
