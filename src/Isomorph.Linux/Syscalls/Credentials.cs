using Isomorph.Linux.Host;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// The user and group IDs (credentials(7)): setuid, setgid, setreuid, setregid, setresuid,
/// setresgid, getresuid, getresgid, setfsuid, setfsgid, getgroups, setgroups. Every guest thread
/// runs on a host thread of its own, and the kernel keeps credentials per thread (the system calls
/// change only the calling thread; glibc makes setuid(3) process-wide by having each thread make the
/// call, which the guest's glibc does with the VM's signals). So the calling host thread's
/// credentials are the guest thread's, and these calls go to the host kernel for the calling thread,
/// which also makes the host's permission checks on the guest's file accesses the right ones. A
/// forked guest process starts on a host thread created by its parent's and inherits its IDs.
/// </summary>
internal static unsafe partial class Credentials
{
    // x86-64 host numbers.
    private const int HostSetuid = 105, HostSetgid = 106, HostSetreuid = 113, HostSetregid = 114,
        HostGetgroups = 115, HostSetgroups = 116, HostSetresuid = 117, HostGetresuid = 118,
        HostSetresgid = 119, HostGetresgid = 120, HostSetfsuid = 122, HostSetfsgid = 123;

    /// <summary>NGROUPS_MAX: the most supplementary groups a process can have.</summary>
    private const int GroupsMax = 65536;

    [Syscall(146, "setuid", "d")]
    private static long SetUid(LinuxProcess p, in SyscallArgs a) => Host(HostSetuid, a.A0);

    [Syscall(144, "setgid", "d")]
    private static long SetGid(LinuxProcess p, in SyscallArgs a) => Host(HostSetgid, a.A0);

    [Syscall(145, "setreuid", "dd")]
    private static long SetReuid(LinuxProcess p, in SyscallArgs a) => Host(HostSetreuid, a.A0, a.A1);

    [Syscall(143, "setregid", "dd")]
    private static long SetRegid(LinuxProcess p, in SyscallArgs a) => Host(HostSetregid, a.A0, a.A1);

    [Syscall(147, "setresuid", "ddd")]
    private static long SetResuid(LinuxProcess p, in SyscallArgs a) => Host(HostSetresuid, a.A0, a.A1, a.A2);

    [Syscall(149, "setresgid", "ddd")]
    private static long SetResgid(LinuxProcess p, in SyscallArgs a) => Host(HostSetresgid, a.A0, a.A1, a.A2);

    /// <summary>setfsuid and setfsgid answer the previous ID whether or not they changed it (no errors).</summary>
    [Syscall(151, "setfsuid", "d")]
    private static long SetFsuid(LinuxProcess p, in SyscallArgs a) => Host(HostSetfsuid, a.A0);

    [Syscall(152, "setfsgid", "d")]
    private static long SetFsgid(LinuxProcess p, in SyscallArgs a) => Host(HostSetfsgid, a.A0);

    [Syscall(148, "getresuid", "xxx")]
    private static long GetResuid(LinuxProcess p, in SyscallArgs a) => GetThree(p, a, HostGetresuid);

    [Syscall(150, "getresgid", "xxx")]
    private static long GetResgid(LinuxProcess p, in SyscallArgs a) => GetThree(p, a, HostGetresgid);

    /// <summary>getgroups(size, list): the count alone when size is 0; EINVAL when the list is too small.</summary>
    [Syscall(158, "getgroups", "dx")]
    private static long GetGroups(LinuxProcess p, in SyscallArgs a)
    {
        int size = a.Int(0);
        if (size < 0) return -Errno.EINVAL;
        int count = (int)Libc.syscall(HostGetgroups, 0, 0, 0, 0, 0);
        if (size == 0) return count;
        if (size < count) return -Errno.EINVAL;
        byte* list = Guest.Writable(p, a.A1, (ulong)count * 4);
        if (list == null && count > 0) return -Errno.EFAULT;
        long r = Libc.Check(Libc.syscall(HostGetgroups, count, (nint)list, 0, 0, 0));
        if (r > 0) p.Memory.NoteWritten(a.A1, (ulong)r * 4);
        return r;
    }

    [Syscall(159, "setgroups", "dx")]
    private static long SetGroups(LinuxProcess p, in SyscallArgs a)
    {
        long size = (long)a.A0;
        if (size is < 0 or > GroupsMax) return -Errno.EINVAL;
        byte* list = size == 0 ? null : Guest.Readable(p, a.A1, (ulong)size * 4);
        if (size > 0 && list == null) return -Errno.EFAULT;
        return Libc.Check(Libc.syscall(HostSetgroups, (nint)size, (nint)list, 0, 0, 0));
    }

    /// <summary>An ID argument is a 32-bit uid_t/gid_t (-1 means "unchanged" in the set*id calls).</summary>
    /// <summary>
    /// Whether the calling thread may send <paramref name="signal"/> to <paramref name="target"/>'s
    /// process, as Linux decides (kill_ok_by_cred): its real or effective user ID is the target's
    /// real or saved one, or it has CAP_KILL, or the signal is SIGCONT within its session.
    /// </summary>
    public static bool MaySignal(LinuxProcess p, LinuxProcess target, int signal)
    {
        const int CapKill = 5, Sigcont = 18;
        if (target == p || (signal == Sigcont && target.Session == p.Session) || Capabilities.Effective(CapKill)) return true;
        var thread = target.Threads.FirstOrDefault();
        if (thread is null || thread.HostTid == 0 || UserIds(thread.HostTid) is not { } theirs) return true; // ended or not started: nothing to refuse
        uint* ours = stackalloc uint[3];
        if (Libc.syscall(HostGetresuid, (nint)ours, (nint)(ours + 1), (nint)(ours + 2), 0, 0) != 0) return true;
        return ours[0] == theirs.Real || ours[0] == theirs.Saved || ours[1] == theirs.Real || ours[1] == theirs.Saved;
    }

    /// <summary>A host thread's real, effective and saved user IDs, from /proc.</summary>
    private static (uint Real, uint Effective, uint Saved)? UserIds(int hostTid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/self/task/{hostTid}/status"))
            {
                if (!line.StartsWith("Uid:", StringComparison.Ordinal)) continue;
                var f = line[4..].Split('\t', StringSplitOptions.RemoveEmptyEntries);
                return (uint.Parse(f[0]), uint.Parse(f[1]), uint.Parse(f[2]));
            }
        }
        catch (IOException) { }
        return null;
    }

    private static long Host(int call, ulong a0, ulong a1 = 0, ulong a2 = 0) =>
        Libc.Check(Libc.syscall(call, (nint)(uint)a0, (nint)(uint)a1, (nint)(uint)a2, 0, 0));

    private static long GetThree(LinuxProcess p, in SyscallArgs a, int call)
    {
        uint* ids = stackalloc uint[3];
        long r = Libc.Check(Libc.syscall(call, (nint)ids, (nint)(ids + 1), (nint)(ids + 2), 0, 0));
        if (r < 0) return r;
        for (int i = 0; i < 3; i++)
        {
            byte* target = Guest.Writable(p, a[i], 4);
            if (target == null) return -Errno.EFAULT;
            *(uint*)target = ids[i];
            p.Memory.NoteWritten(a[i], 4);
        }
        return 0;
    }
}
