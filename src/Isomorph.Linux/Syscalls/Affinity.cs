using System.Runtime.CompilerServices;
using Isomorph.Linux.Threads;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// CPU affinity: the VM's CPUs are the host processors its threads run on (one hart per guest
/// thread, each on a host thread). sched_setaffinity records a thread's mask, cut to those CPUs (EINVAL
/// when nothing is left), and sched_getaffinity reports it; new threads and forked children inherit
/// their creator's. The mask is the guest's view: host threads are not pinned.
/// </summary>
internal static unsafe partial class Affinity
{
    private static readonly ConditionalWeakTable<GuestThread, ulong[]> Masks = [];

    /// <summary>The kernel's cpumask size: the CPUs in whole 64-bit words.</summary>
    public static int MaskBytes => (Environment.ProcessorCount + 63) / 64 * 8;

    /// <summary>Thread <paramref name="t"/>'s mask (every CPU unless it was set), one bit per CPU.</summary>
    public static ulong[] Of(GuestThread t) => Masks.TryGetValue(t, out var mask) ? mask : All();

    private static ulong[] All()
    {
        var mask = new ulong[MaskBytes / 8];
        for (int cpu = 0; cpu < Environment.ProcessorCount; cpu++) mask[cpu / 64] |= 1ul << (cpu % 64);
        return mask;
    }

    /// <summary>A new thread or a forked child's main thread takes its creator's mask.</summary>
    public static void Inherit(GuestThread from, GuestThread to)
    {
        if (Masks.TryGetValue(from, out var mask)) Masks.AddOrUpdate(to, mask);
    }

    /// <summary>The thread a pid argument names: 0 the caller, else any thread (or process, by its main thread) of the run.</summary>
    public static GuestThread? Target(LinuxProcess p, int pid) => pid == 0 ? p.Current : p.Table.FindThread(pid);

    [Syscall(122, "sched_setaffinity", "dux")]
    private static long SetAffinity(LinuxProcess p, in SyscallArgs a)
    {
        var t = Target(p, a.Int(0));
        if (t is null || a.Int(0) < 0) return -Errno.ESRCH;
        // Linux reads min(len, its cpumask size) bytes and takes the rest as zeros.
        int length = (int)Math.Min(a.A1, (ulong)MaskBytes);
        byte* given = Guest.Readable(p, a.A2, (ulong)length);
        if (given == null && length > 0) return -Errno.EFAULT;
        var mask = new ulong[MaskBytes / 8];
        new ReadOnlySpan<byte>(given, length).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(mask.AsSpan()));
        var all = All();
        bool any = false;
        for (int i = 0; i < mask.Length; i++)
        {
            mask[i] &= all[i];
            any |= mask[i] != 0;
        }
        if (!any) return -Errno.EINVAL;
        Masks.AddOrUpdate(t, mask);
        return 0;
    }
}
