using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// prctl: the options programs use. The thread's name, the parent-death signal and the dumpable
/// flag are the VM's own (its processes are not the host's); capabilities' bounding set, keepcaps,
/// no_new_privs and the timer slack belong to the calling thread, which is a host thread, so they
/// are the host kernel's. Any other option is EINVAL, as from a kernel that has no such option.
/// </summary>
internal static unsafe partial class Prctl
{
    private const int PrSetPdeathsig = 1, PrGetPdeathsig = 2, PrGetDumpable = 3, PrSetDumpable = 4, PrGetKeepcaps = 7, PrSetKeepcaps = 8,
        PrSetName = 15, PrGetName = 16, PrGetSeccomp = 21, PrCapbsetRead = 23, PrSetTimerslack = 29, PrGetTimerslack = 30,
        PrSetNoNewPrivs = 38, PrGetNoNewPrivs = 39, PrGetTidAddress = 40;
    /// <summary>TASK_COMM_LEN: a name holds 15 bytes and its NUL.</summary>
    private const int CommLength = 16;

    /// <summary>A name as the kernel keeps it: its first 15 bytes.</summary>
    public static string CommOf(string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        return bytes.Length < CommLength ? name : Encoding.UTF8.GetString(bytes, 0, CommLength - 1);
    }

    [Syscall(167, "prctl", "dxxxx")]
    private static long Handle(LinuxProcess p, in SyscallArgs a)
    {
        var t = p.Current;
        switch (a.Int(0))
        {
            case PrSetName:
            {
                // The first 16 bytes, NUL-terminated or not (a name is cut at 15).
                var name = new byte[CommLength];
                int length = 0;
                for (; length < CommLength - 1; length++)
                {
                    byte* at = Guest.Readable(p, a.A1 + (ulong)length, 1);
                    if (at == null) return -Errno.EFAULT;
                    name[length] = *at;
                    if (name[length] == 0) break;
                }
                t.Name = Encoding.UTF8.GetString(name, 0, length);
                return 0;
            }
            case PrGetName:
            {
                byte* at = Guest.Writable(p, a.A1, CommLength);
                if (at == null) return -Errno.EFAULT;
                var span = new Span<byte>(at, CommLength);
                span.Clear();
                Encoding.UTF8.GetBytes(t.Name, span[..(CommLength - 1)]);
                p.Memory.NoteWritten(a.A1, CommLength);
                return 0;
            }
            case PrSetPdeathsig:
                if (a.A1 > 64) return -Errno.EINVAL;
                p.ParentDeathSignal = (int)a.A1;
                return 0;
            case PrGetPdeathsig:
                return Guest.Put(p, a.A1, p.ParentDeathSignal) ? 0 : -Errno.EFAULT;
            case PrGetDumpable:
                return p.Dumpable ? 1 : 0;
            case PrSetDumpable:
                if (a.A1 > 1) return -Errno.EINVAL; // SUID_DUMP_DISABLE or SUID_DUMP_USER
                p.Dumpable = a.A1 == 1;
                return 0;
            case PrGetTidAddress:
                return Guest.Put(p, a.A1, t.ClearChildTid) ? 0 : -Errno.EFAULT;
            case PrGetSeccomp:
                return 0; // no filter: the VM installs none, and SECCOMP_SET_MODE_* are not offered
            case PrGetKeepcaps or PrSetKeepcaps or PrCapbsetRead or PrSetTimerslack or PrGetTimerslack or PrSetNoNewPrivs or PrGetNoNewPrivs:
                return Libc.Check(Libc.prctl(a.Int(0), a.A1, a.A2, a.A3, a.A4));
            default:
                return -Errno.EINVAL; // programs probe for options: no warning

        }
    }
}
