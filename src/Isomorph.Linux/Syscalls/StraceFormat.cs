using System.Runtime.InteropServices;
using System.Text;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// How --strace prints a system call, in qemu-user's -strace style: <c>name(arg,arg) = result</c>,
/// failures as <c>-1 errno=2 (No such file or directory)</c>. Each handler's
/// <see cref="SyscallAttribute.Arguments"/> has one letter per argument:
/// <list type="table">
/// <item><term>d i u</term><description>signed (long, int), unsigned decimal</description></item>
/// <item><term>x</term><description>hex (buffers and other guest addresses)</description></item>
/// <item><term>p</term><description>an address where mmap-like calls put things: NULL or 0x and 16 digits</description></item>
/// <item><term>s</term><description>a guest string</description></item>
/// <item><term>o</term><description>a file mode, octal</description></item>
/// <item><term>m</term><description>open's mode: octal, and left out unless the flags before it create a file</description></item>
/// <item><term>f</term><description>a directory descriptor (AT_FDCWD)</description></item>
/// <item><term>O c P M A C</term><description>open flags (c: without an access mode, as pipe2 and dup3 take), PROT_*, MAP_*, AT_*, clone flags</description></item>
/// <item><term>S</term><description>a signal number</description></item>
/// <item><term>F W H K k w</term><description>fcntl command, lseek whence, sigprocmask how, clock id, access mode, wait options</description></item>
/// <item><term>D T</term><description>socket domain and type</description></item>
/// <item><term>U</term><description>a futex operation</description></item>
/// </list>
/// Values with bits no name covers print them in hex after the names.
/// </summary>
public static class StraceFormat
{
    /// <summary>The letters an argument format may use.</summary>
    public const string Letters = "diuxpsomfOcPMACSFWHKkwDTU";

    /// <summary>True when argument <paramref name="index"/> is printed at all (open's mode only with O_CREAT or O_TMPFILE).</summary>
    public static bool Shown(string formats, int index, in SyscallArgs args) =>
        formats[index] != 'm' || index == 0 || (args[index - 1] & 0x400040) != 0;

    /// <summary>Open flags beyond the access mode, in the order qemu-user prints them.</summary>
    private static readonly (ulong Bit, string Name)[] OpenFlags =
    [
        (0x400, "O_APPEND"), (0x40, "O_CREAT"), (0x10000, "O_DIRECTORY"), (0x80, "O_EXCL"), (0x8000, "O_LARGEFILE"), (0x100, "O_NOCTTY"),
        (0x20000, "O_NOFOLLOW"), (0x800, "O_NONBLOCK"), (0x1000, "O_DSYNC"), (0x100000, "__O_SYNC"), (0x200, "O_TRUNC"),
        (0x4000, "O_DIRECT"), (0x40000, "O_NOATIME"), (0x80000, "O_CLOEXEC"), (0x200000, "O_PATH"), (0x2000, "O_ASYNC"),
        (0x400000, "__O_TMPFILE"),
    ];

    private static readonly (ulong Bit, string Name)[] ProtFlags = [(4, "PROT_EXEC"), (1, "PROT_READ"), (2, "PROT_WRITE")];

    /// <summary>mmap's flags after the mapping type, in the order qemu-user 7.2 prints them (then those it does not know).</summary>
    private static readonly (ulong Bit, string Name)[] MapFlags =
    [
        (0x20, "MAP_ANONYMOUS"), (0x800, "MAP_DENYWRITE"), (0x10, "MAP_FIXED"), (0x100, "MAP_GROWSDOWN"), (0x1000, "MAP_EXECUTABLE"),
        (0x2000, "MAP_LOCKED"), (0x10000, "MAP_NONBLOCK"), (0x4000, "MAP_NORESERVE"), (0x8000, "MAP_POPULATE"), (0x20000, "MAP_STACK"),
        (0x40000, "MAP_HUGETLB"), (0x100000, "MAP_FIXED_NOREPLACE"),
    ];

    private static readonly (ulong Bit, string Name)[] AtFlags =
    [
        (0x100, "AT_SYMLINK_NOFOLLOW"), (0x200, "AT_REMOVEDIR"), (0x400, "AT_SYMLINK_FOLLOW"), (0x800, "AT_NO_AUTOMOUNT"),
        (0x1000, "AT_EMPTY_PATH"),
    ];

    private static readonly (ulong Bit, string Name)[] CloneFlags =
    [
        (0x100, "CLONE_VM"), (0x200, "CLONE_FS"), (0x400, "CLONE_FILES"), (0x800, "CLONE_SIGHAND"), (0x1000, "CLONE_PIDFD"),
        (0x2000, "CLONE_PTRACE"), (0x4000, "CLONE_VFORK"), (0x8000, "CLONE_PARENT"), (0x10000, "CLONE_THREAD"), (0x20000, "CLONE_NEWNS"),
        (0x40000, "CLONE_SYSVSEM"), (0x80000, "CLONE_SETTLS"), (0x100000, "CLONE_PARENT_SETTID"), (0x200000, "CLONE_CHILD_CLEARTID"),
        (0x400000, "CLONE_DETACHED"), (0x800000, "CLONE_UNTRACED"), (0x1000000, "CLONE_CHILD_SETTID"),
    ];

    private static readonly (ulong Bit, string Name)[] AccessModes = [(4, "R_OK"), (2, "W_OK"), (1, "X_OK")];

    private static readonly (ulong Bit, string Name)[] WaitOptions =
        [(1, "WNOHANG"), (2, "WUNTRACED"), (4, "WEXITED"), (8, "WCONTINUED"), (0x0100_0000, "WNOWAIT"), (0x4000_0000, "__WALL"), (0x8000_0000, "__WCLONE")];

    private static readonly (ulong Bit, string Name)[] SocketTypeFlags = [(0x800, "SOCK_NONBLOCK"), (0x80000, "SOCK_CLOEXEC")];

    private static readonly string[] Signals =
    [
        "0", "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL", "SIGUSR1", "SIGSEGV",
        "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT", "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU",
        "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO", "SIGPWR", "SIGSYS",
    ];

    private static readonly Dictionary<long, string> FcntlCommands = new()
    {
        [0] = "F_DUPFD", [1] = "F_GETFD", [2] = "F_SETFD", [3] = "F_GETFL", [4] = "F_SETFL", [5] = "F_GETLK", [6] = "F_SETLK",
        [7] = "F_SETLKW", [8] = "F_SETOWN", [9] = "F_GETOWN", [1030] = "F_DUPFD_CLOEXEC", [1031] = "F_SETPIPE_SZ", [1032] = "F_GETPIPE_SZ",
        [36] = "F_OFD_GETLK", [37] = "F_OFD_SETLK", [38] = "F_OFD_SETLKW",
    };

    private static readonly Dictionary<long, string> Clocks = new()
    {
        [0] = "CLOCK_REALTIME", [1] = "CLOCK_MONOTONIC", [2] = "CLOCK_PROCESS_CPUTIME_ID", [3] = "CLOCK_THREAD_CPUTIME_ID",
        [4] = "CLOCK_MONOTONIC_RAW", [5] = "CLOCK_REALTIME_COARSE", [6] = "CLOCK_MONOTONIC_COARSE", [7] = "CLOCK_BOOTTIME",
    };

    private static readonly Dictionary<long, string> FutexOperations = new()
    {
        [0] = "FUTEX_WAIT", [1] = "FUTEX_WAKE", [2] = "FUTEX_FD", [3] = "FUTEX_REQUEUE", [4] = "FUTEX_CMP_REQUEUE", [5] = "FUTEX_WAKE_OP",
        [6] = "FUTEX_LOCK_PI", [7] = "FUTEX_UNLOCK_PI", [8] = "FUTEX_TRYLOCK_PI", [9] = "FUTEX_WAIT_BITSET", [10] = "FUTEX_WAKE_BITSET",
        [11] = "FUTEX_WAIT_REQUEUE_PI", [12] = "FUTEX_CMP_REQUEUE_PI", [13] = "FUTEX_LOCK_PI2",
    };

    private static readonly Dictionary<long, string> Domains = new() { [1] = "AF_UNIX", [2] = "AF_INET", [10] = "AF_INET6", [16] = "AF_NETLINK" };
    private static readonly Dictionary<long, string> SocketTypes = new() { [1] = "SOCK_STREAM", [2] = "SOCK_DGRAM", [3] = "SOCK_RAW", [5] = "SOCK_SEQPACKET" };
    private static readonly Dictionary<long, string> Whence = new() { [0] = "SEEK_SET", [1] = "SEEK_CUR", [2] = "SEEK_END", [3] = "SEEK_DATA", [4] = "SEEK_HOLE" };
    private static readonly Dictionary<long, string> SigprocmaskHow = new() { [0] = "SIG_BLOCK", [1] = "SIG_UNBLOCK", [2] = "SIG_SETMASK" };

    /// <summary>Appends argument <paramref name="value"/> formatted as <paramref name="letter"/> says.</summary>
    public static void Argument(StringBuilder sb, char letter, ulong value, Func<ulong, string?> readString)
    {
        switch (letter)
        {
            case 'd': sb.Append((long)value); break;
            case 'i': sb.Append((int)value); break;
            case 'u': sb.Append(value); break;
            case 'p': sb.Append(value == 0 ? "NULL" : $"0x{value:x16}"); break;
            case 'o' or 'm': sb.Append('0').Append(Convert.ToString((long)value & 0xFFFF_FFFF, 8).PadLeft(3, '0')); break;
            case 's':
                var s = value == 0 ? null : readString(value);
                if (s is null) sb.Append(value == 0 ? "NULL" : $"0x{value:x}");
                else sb.Append('"').Append(Escape(s)).Append('"');
                break;
            case 'f': sb.Append((int)value == -100 ? "AT_FDCWD" : ((int)value).ToString()); break;
            case 'O': Open(sb, value); break;
            case 'c': Flags(sb, value & 0xFFFF_FFFF, OpenFlags, "0"); break;
            case 'P': Flags(sb, value, ProtFlags, "PROT_NONE"); break;
            case 'M': Mmap(sb, value); break;
            case 'A': Flags(sb, value & 0xFFFF_FFFF, AtFlags, "0"); break;
            case 'C':
                // The low byte is the signal the parent gets when the child ends.
                var clone = new StringBuilder();
                Flags(clone, value & ~0xFFul, CloneFlags, "");
                if ((value & 0xFF) != 0) clone.Append(clone.Length > 0 ? "|" : "").Append(SignalName((int)(value & 0xFF)));
                sb.Append(clone.Length > 0 ? clone : "0");
                break;
            case 'S': sb.Append(SignalName((int)value)); break;
            case 'F': Named(sb, (int)value, FcntlCommands); break;
            case 'W': Named(sb, (int)value, Whence); break;
            case 'H': Named(sb, (int)value, SigprocmaskHow); break;
            case 'K': Named(sb, (int)value, Clocks); break;
            case 'D': Named(sb, (int)value, Domains); break;
            case 'T':
                Named(sb, (int)value & 0xF, SocketTypes);
                foreach (var (bit, name) in SocketTypeFlags) if ((value & bit) != 0) sb.Append('|').Append(name);
                break;
            case 'k': Flags(sb, value & 0xFFFF_FFFF, AccessModes, "F_OK"); break;
            case 'U':
                // The command in the low bits, FUTEX_PRIVATE_FLAG (128) and FUTEX_CLOCK_REALTIME (256) above it.
                if ((value & 128) != 0) sb.Append("FUTEX_PRIVATE_FLAG|");
                if ((value & 256) != 0) sb.Append("FUTEX_CLOCK_REALTIME|");
                Named(sb, (int)(value & 0x7F), FutexOperations);
                break;
            case 'w': Flags(sb, value & 0xFFFF_FFFF, WaitOptions, "0"); break;
            default: sb.Append(value == 0 ? "0" : $"0x{value:x}"); break;
        }
    }

    /// <summary>A result: -1 errno=N (message) for a failure, an address for calls that return one, else decimal.</summary>
    public static void Result(StringBuilder sb, long? result, bool address)
    {
        if (result is not { } r) return; // the process has ended: no result, as qemu-user prints exit_group
        else if (r is < 0 and >= -4095) sb.Append("-1 errno=").Append(-r).Append(" (").Append(Message((int)-r)).Append(')');
        else if (address) sb.Append("0x").Append(r.ToString("x16"));
        else sb.Append(r);
    }

    /// <summary>
    /// strerror's text for a Linux errno; the host's C library gives it, as errno numbers are the
    /// same on riscv64 and the x86-64 and ARM64 hosts.
    /// </summary>
    public static string Message(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    public static string SignalName(int signal) =>
        signal > 0 && signal < Signals.Length ? Signals[signal] : signal is >= 32 and <= 64 ? $"SIGRT_{signal - 32}" : signal.ToString();

    private static void Open(StringBuilder sb, ulong value)
    {
        sb.Append((value & 3) switch { 0 => "O_RDONLY", 1 => "O_WRONLY", 2 => "O_RDWR", _ => "O_ACCMODE" });
        ulong rest = value & ~3ul & 0xFFFF_FFFF;
        if ((rest & 0x410000) == 0x410000) rest &= ~0x10000ul; // O_TMPFILE includes O_DIRECTORY
        foreach (var (bit, name) in OpenFlags)
        {
            if ((rest & bit) == 0) continue;
            sb.Append('|').Append(name);
            rest &= ~bit;
        }
        if (rest != 0) sb.Append("|0x").Append(rest.ToString("x"));
    }

    private static void Mmap(StringBuilder sb, ulong value)
    {
        sb.Append((value & 0xF) switch { 1 => "MAP_SHARED", 2 => "MAP_PRIVATE", 3 => "MAP_SHARED_VALIDATE", var t => $"0x{t:x}" });
        ulong rest = value & ~0xFul;
        foreach (var (bit, name) in MapFlags)
        {
            if ((rest & bit) == 0) continue;
            sb.Append('|').Append(name);
            rest &= ~bit;
        }
        if (rest != 0) sb.Append("|0x").Append(rest.ToString("x"));
    }

    private static void Flags(StringBuilder sb, ulong value, (ulong Bit, string Name)[] names, string none)
    {
        if (value == 0)
        {
            sb.Append(none);
            return;
        }
        bool first = true;
        foreach (var (bit, name) in names)
        {
            if ((value & bit) == 0) continue;
            if (!first) sb.Append('|');
            sb.Append(name);
            value &= ~bit;
            first = false;
        }
        if (value != 0) sb.Append(first ? "" : "|").Append("0x").Append(value.ToString("x"));
    }

    private static void Named(StringBuilder sb, int value, Dictionary<long, string> names) =>
        sb.Append(names.TryGetValue(value, out var name) ? name : value.ToString());

    private static string Escape(string s) =>
        s.Replace("\\", "\\\\").Replace("\n", "\\n").Replace("\t", "\\t").Replace("\"", "\\\"");
}
