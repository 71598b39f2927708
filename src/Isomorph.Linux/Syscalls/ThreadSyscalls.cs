using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// What threads on several harts need from the kernel besides futexes: membarrier, the RISC-V
/// instruction-cache flush, riscv_hwprobe (what the harts implement), and the CPUs they run on.
/// </summary>
internal static unsafe partial class ThreadSyscalls
{
    // membarrier(2) commands (include/uapi/linux/membarrier.h).
    private const int MembarrierQuery = 0, MembarrierGlobal = 1, MembarrierGlobalExpedited = 2, MembarrierRegisterGlobalExpedited = 4,
        MembarrierPrivateExpedited = 8, MembarrierRegisterPrivateExpedited = 16, MembarrierPrivateExpeditedSyncCore = 32,
        MembarrierRegisterPrivateExpeditedSyncCore = 64, MembarrierGetRegistrations = 512;
    private const int MembarrierSupported = MembarrierGlobal | MembarrierGlobalExpedited | MembarrierRegisterGlobalExpedited
        | MembarrierPrivateExpedited | MembarrierRegisterPrivateExpedited | MembarrierPrivateExpeditedSyncCore
        | MembarrierRegisterPrivateExpeditedSyncCore | MembarrierGetRegistrations;

    /// <summary>
    /// membarrier: every other thread passes a full barrier. The private expedited commands serialize
    /// this process's other harts (each stops at an instruction boundary before the call returns)
    /// once the process has registered for them; the global ones do so for every process of the run.
    /// </summary>
    [Syscall(283, "membarrier", "dxd")]
    private static long Membarrier(LinuxProcess p, in SyscallArgs a)
    {
        int command = a.Int(0);
        if (a.A1 != 0) return -Errno.EINVAL; // MEMBARRIER_CMD_FLAG_CPU only goes with the rseq commands, which are not offered
        switch (command)
        {
            case MembarrierQuery:
                return MembarrierSupported;
            case MembarrierGlobal:
            case MembarrierGlobalExpedited:
                foreach (var process in p.Table.All()) process.SerializeThreads();
                p.SerializeThreads();
                return 0;
            case MembarrierRegisterGlobalExpedited:
            case MembarrierRegisterPrivateExpedited:
            case MembarrierRegisterPrivateExpeditedSyncCore:
                p.MembarrierRegistrations |= command;
                return 0;
            case MembarrierPrivateExpedited:
            case MembarrierPrivateExpeditedSyncCore:
                if ((p.MembarrierRegistrations & (command << 1)) == 0) return -Errno.EPERM;
                p.SerializeThreads();
                return 0;
            case MembarrierGetRegistrations:
                return p.MembarrierRegistrations;
            default:
                return -Errno.EINVAL;
        }
    }

    /// <summary>
    /// riscv_flush_icache(start, end, flags): decoded instructions of the pages in the range are
    /// dropped, for every hart of the process (they share one code cache). flags may only be
    /// SYS_RISCV_FLUSH_ICACHE_LOCAL, which Linux, too, treats as a hint.
    /// </summary>
    [Syscall(259, "riscv_flush_icache", "xxx")]
    private static long FlushIcache(LinuxProcess p, in SyscallArgs a)
    {
        const ulong Local = 1;
        if ((a.A2 & ~Local) != 0) return -Errno.EINVAL;
        ulong start = a.A0, end = a.A1;
        var code = p.Code;
        if (end <= start || end - start > (64ul << 20)) code.Clear();
        else
            for (ulong page = GuestAddressSpace.PageDown(start); page < end; page += GuestAddressSpace.PageSize)
                if (code.IsCode(page)) code.InvalidateStore(page, (int)GuestAddressSpace.PageSize);
        p.SerializeThreads();
        return 0;
    }

    // riscv_hwprobe keys and values (arch/riscv/include/uapi/asm/hwprobe.h).
    private const long KeyMvendorid = 0, KeyMarchid = 1, KeyMimpid = 2, KeyBaseBehavior = 3, KeyImaExt0 = 4, KeyCpuperf0 = 5,
        KeyZicbozBlockSize = 6;
    private const ulong BaseBehaviorIma = 1;
    private const ulong ImaFd = 1 << 0, ImaC = 1 << 1, ExtZba = 1 << 3, ExtZbb = 1 << 4, ExtZbs = 1 << 5;
    /// <summary>RISCV_HWPROBE_MISALIGNED_FAST: a misaligned load or store inside a page is one host access, as fast as an aligned one.</summary>
    private const ulong MisalignedFast = 3;

    /// <summary>
    /// riscv_hwprobe(pairs, pair_count, cpusetsize, cpus, flags): fills in the value of each key the
    /// harts answer (every hart is the same RV64GC + Zba/Zbb/Zbs core); an unknown key becomes -1
    /// with value 0. No flags are accepted.
    /// </summary>
    [Syscall(258, "riscv_hwprobe", "xuuxx")]
    private static long HwProbe(LinuxProcess p, in SyscallArgs a)
    {
        ulong pairs = a.A0, count = a.A1, cpusetSize = a.A2, cpus = a.A3;
        if (a.A4 != 0) return -Errno.EINVAL;
        if (cpus != 0 && cpusetSize != 0 && Guest.Readable(p, cpus, cpusetSize) == null) return -Errno.EFAULT;
        if (count == 0) return 0;
        if (count > (1ul << 20)) return -Errno.EINVAL;
        byte* at = Guest.Writable(p, pairs, count * 16);
        if (at == null) return -Errno.EFAULT;
        for (ulong i = 0; i < count; i++)
        {
            long* key = (long*)(at + i * 16);
            ulong* value = (ulong*)(at + i * 16 + 8);
            switch (*key)
            {
                case KeyMvendorid or KeyMarchid or KeyMimpid: *value = 0; break;
                case KeyBaseBehavior: *value = BaseBehaviorIma; break;
                case KeyImaExt0: *value = ImaFd | ImaC | ExtZba | ExtZbb | ExtZbs; break;
                case KeyCpuperf0: *value = MisalignedFast; break;
                case KeyZicbozBlockSize: *value = 0; break; // no Zicboz
                default: *key = -1; *value = 0; break;
            }
        }
        p.Memory.NoteWritten(pairs, count * 16);
        return 0;
    }

    /// <summary>sched_getaffinity: the thread's mask of the host's processors, on which the guest's threads run in parallel (see <see cref="Affinity"/>).</summary>
    [Syscall(123, "sched_getaffinity", "dux")]
    private static long SchedGetAffinity(LinuxProcess p, in SyscallArgs a)
    {
        var thread = Affinity.Target(p, a.Int(0));
        if (thread is null) return -Errno.ESRCH;
        ulong size = (ulong)Affinity.MaskBytes;
        if (a.A1 * 8 < (ulong)Environment.ProcessorCount || (a.A1 & 7) != 0) return -Errno.EINVAL;
        size = Math.Min(size, a.A1);
        byte* mask = Guest.Writable(p, a.A2, size);
        if (mask == null) return -Errno.EFAULT;
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(Affinity.Of(thread).AsSpan())[..(int)size].CopyTo(new Span<byte>(mask, (int)size));
        p.Memory.NoteWritten(a.A2, size);
        return (long)size;
    }
}
