using System.Text;
using Isomorph.Linux.Host;
using Isomorph.Linux.Processes;

namespace Isomorph.Linux.Syscalls;

/// <summary>Processes coming and going: clone (fork, vfork), execve, wait4/waitid, process groups and sessions.</summary>
internal static unsafe partial class ProcessLifecycle
{
    private const ulong CloneVm = 0x100, CloneVfork = 0x4000, CloneThread = 0x10000, CloneSettls = 0x80000,
        CloneParentSettid = 0x100000, CloneChildCleartid = 0x200000, CloneChildSettid = 0x1000000, CloneSignalMask = 0xFF;
    private const int WNoHang = 1, WExited = 4, WNoWait = 0x0100_0000;
    private const int PAll = 0, PPid = 1, PPgid = 2, PPidfd = 3;
    private const int CldExited = 1, CldKilled = 2, CldDumped = 3;
    private const int MaxArguments = 0x20000;

    private const ulong ClonePidfd = 0x1000;
    private const ulong CloneFs = 0x200, CloneFiles = 0x400, CloneSighand = 0x800, CloneSysvsem = 0x40000;

    /// <summary>clone as riscv64 orders its arguments (CLONE_BACKWARDS): flags, stack, parent_tid, tls, child_tid.</summary>
    [Syscall(220, "clone", "Cxxxx")]
    private static long Clone(LinuxProcess p, in SyscallArgs a)
    {
        // CLONE_PIDFD stores the pidfd where parent_tid would go, so not with CLONE_PARENT_SETTID (nor for a thread).
        if ((a.A0 & ClonePidfd) != 0 && (a.A0 & (CloneParentSettid | CloneThread)) != 0) return -Errno.EINVAL;
        long r = CloneTask(p, a.A0 & ~CloneSignalMask & ~ClonePidfd, (int)(a.A0 & CloneSignalMask), a.A1, a.A2, a.A3, a.A4);
        return (a.A0 & ClonePidfd) != 0 ? PidFdSyscalls.ForChild(p, r, a.A2) : r;
    }

    /// <summary>
    /// clone3(struct clone_args *, size): flags, pidfd, child_tid, parent_tid, exit_signal, stack,
    /// stack_size, tls, ... — the same tasks as clone; the stack is given by its lowest address and size.
    /// </summary>
    [Syscall(435, "clone3", "xu")]
    private static long Clone3(LinuxProcess p, in SyscallArgs a)
    {
        const ulong CloneArgsSizeVer0 = 64;
        if (a.A1 < CloneArgsSizeVer0 || a.A1 > 4096) return -Errno.EINVAL;
        byte* args = Guest.Readable(p, a.A0, a.A1);
        if (args == null) return -Errno.EFAULT;
        for (ulong i = 88; i + 8 <= a.A1; i += 8)
            if (*(ulong*)(args + i) != 0) return -Errno.E2BIG; // set_tid, cgroup and later fields: not offered
        ulong* f = (ulong*)args;
        ulong flags = f[0], exitSignal = f[4], stack = f[5], stackSize = f[6];
        if ((flags & CloneSignalMask) != 0 || exitSignal > 64) return -Errno.EINVAL;
        if ((flags & (ClonePidfd | CloneThread)) == (ClonePidfd | CloneThread)) return -Errno.EINVAL;
        if ((stack == 0) != (stackSize == 0)) return -Errno.EINVAL;
        long r = CloneTask(p, flags & ~ClonePidfd, (int)exitSignal, stack == 0 ? 0 : stack + stackSize, f[3], f[7], f[2]);
        return (flags & ClonePidfd) != 0 ? PidFdSyscalls.ForChild(p, r, f[1]) : r;
    }

    /// <summary>
    /// A new task: with CLONE_THREAD a thread of this process (sharing memory, descriptors,
    /// working directory and signal handlers, as CLONE_THREAD requires), otherwise a child process
    /// (fork, vfork, posix_spawn's CLONE_VM|CLONE_VFORK).
    /// </summary>
    private static long CloneTask(LinuxProcess p, ulong flags, int exitSignal, ulong stack, ulong parentTid, ulong tls, ulong childTid)
    {
        bool vfork = (flags & CloneVfork) != 0;
        ulong? tp = (flags & CloneSettls) != 0 ? tls : null;
        if ((flags & CloneThread) != 0)
        {
            // Linux's own rules: a thread shares signal handlers, and handlers need shared memory.
            const ulong Shared = CloneVm | CloneSighand;
            if ((flags & Shared) != Shared) return -Errno.EINVAL;
            if ((flags & (CloneFiles | CloneFs)) != (CloneFiles | CloneFs))
                p.WarnOnce(220_000_001, "threads without CLONE_FILES|CLONE_FS share descriptors and working directory anyway");
            var thread = p.CreateThread(stack, tp);
            if ((flags & CloneParentSettid) != 0) Guest.Put(p, parentTid, thread.Tid);
            if ((flags & CloneChildSettid) != 0) Guest.Put(p, childTid, thread.Tid);
            if ((flags & CloneChildCleartid) != 0) thread.ClearChildTid = childTid;
            p.StartThread(thread);
            return thread.Tid;
        }
        if ((flags & CloneVm) != 0 && !vfork)
        {
            p.WarnOnce(220_000_000, "clone of a process sharing memory (CLONE_VM without CLONE_THREAD or CLONE_VFORK) is not supported");
            return -Errno.EINVAL;
        }
        // CLONE_VM|CLONE_VFORK (posix_spawn, vfork): the child runs in the parent's memory while the parent waits.
        LinuxProcess child;
        try
        {
            child = p.Fork(stack, tp, vfork, shareMemory: vfork && (flags & CloneVm) != 0);
        }
        catch (InsufficientMemoryException)
        {
            return -Errno.ENOMEM;
        }
        child.ExitSignal = exitSignal;
        if ((flags & CloneParentSettid) != 0)
        {
            Guest.Put(p, parentTid, child.Pid);
            Guest.Put(child, parentTid, child.Pid);
        }
        if ((flags & CloneChildSettid) != 0) Guest.Put(child, childTid, child.Pid);
        if ((flags & CloneChildCleartid) != 0) child.MainThread.ClearChildTid = childTid;
        p.StartChild(child);
        return child.Pid;
    }

    [Syscall(221, "execve", "sxx")]
    private static long Execve(LinuxProcess p, in SyscallArgs a)
    {
        // As Linux: the path first (an empty one names nothing), then the program is opened, then argv and envp are read.
        long r = Guest.ReadPath(p, a.A0, out var guestPath);
        if (guestPath is null) return r;
        if (guestPath.Length == 0) return -Errno.ENOENT;
        long fd = OpenProgram(p, guestPath);
        if (fd < 0) return fd;
        try
        {
            var argv = ReadStrings(p, a.A1);
            var envp = ReadStrings(p, a.A2);
            if (argv is null || envp is null) return -Errno.EFAULT;
            return Exec(p, (int)fd, guestPath, argv, envp, interpreterDepth: 0);
        }
        finally
        {
            Libc.close((int)fd);
        }
    }

    internal static long Exec(LinuxProcess p, string guestPath, List<string> argv, List<string> envp, int interpreterDepth)
    {
        long fd = OpenProgram(p, guestPath);
        if (fd < 0) return fd;
        try
        {
            return Exec(p, (int)fd, guestPath, argv, envp, interpreterDepth);
        }
        finally
        {
            Libc.close((int)fd);
        }
    }

    internal static long Exec(LinuxProcess p, int fd, string guestPath, List<string> argv, List<string> envp, int interpreterDepth)
    {
        long access = CheckExecutable(fd);
        if (access < 0) return access;
        Span<byte> head = stackalloc byte[256];
        long n;
        fixed (byte* at = head) n = Libc.Check(Libc.pread(fd, at, (nuint)head.Length, 0));
        if (n < 0) return n == -Errno.EISDIR ? -Errno.EACCES : n;
        head = head[..(int)n];
        if (head.StartsWith("#!"u8))
        {
            // A script: "#!interpreter [one argument]" runs the interpreter with the script's path.
            if (interpreterDepth > 0) return -Errno.ELOOP;
            int end = head.IndexOf((byte)'\n');
            if (end < 0) end = head.Length;
            string line = Encoding.UTF8.GetString(head[2..end]).Trim();
            if (line.Length == 0) return -Errno.ENOEXEC;
            int space = line.IndexOfAny([' ', '\t']);
            string interpreter = space < 0 ? line : line[..space];
            string? argument = space < 0 ? null : line[(space + 1)..].Trim();
            var scriptArgv = new List<string> { interpreter };
            if (!string.IsNullOrEmpty(argument)) scriptArgv.Add(argument);
            scriptArgv.Add(guestPath);
            scriptArgv.AddRange(argv.Skip(1));
            return Exec(p, interpreter, scriptArgv, envp, interpreterDepth + 1);
        }
        if (n < 4 || head[0] != 0x7F || head[1] != (byte)'E' || head[2] != (byte)'L' || head[3] != (byte)'F') return -Errno.ENOEXEC;
        if (HostProgram.IsHostElf(head)) return ExecHost(p, fd, argv, envp);
        return p.Exec(fd, guestPath, argv, envp);
    }

    /// <summary>
    /// An ELF for the host's machine: the host kernel runs it, as under qemu-user
    /// (<see cref="HostProgram"/>). Under --root only with --allow-host-exec, since a host program
    /// sees the host's files, not the root's.
    /// </summary>
    private static long ExecHost(LinuxProcess p, int fd, List<string> argv, List<string> envp)
    {
        string hostPath = new FileInfo($"/proc/self/fd/{fd}").LinkTarget ?? $"/proc/self/fd/{fd}";
        if (p.Root is not null && !p.Options.AllowHostExec)
        {
            p.Options.Strace?.WriteLine($"{Threads.GuestThread.Current?.Tid} --- host program {hostPath} refused under --root (--allow-host-exec lets it run) ---");
            p.WarnOnce(221_000_000, $"{hostPath} is a host program, which would leave --root: refused with EACCES (--allow-host-exec lets it run)");
            return -Errno.EACCES;
        }
        return p.ExecHost(hostPath, argv, envp);
    }

    /// <summary>
    /// Opens the program a guest names: inside the root under --root, otherwise absolute paths
    /// through the sysroot and relative ones from the process's working directory.
    /// </summary>
    private static long OpenProgram(LinuxProcess p, string guestPath)
    {
        if (p.Root is null && guestPath == "/proc/self/exe") guestPath = p.ExecutablePath;
        else if (p.Root is not null)
        {
            long r = Guest.AbsoluteInRoot(p, unchecked((ulong)Libc.AtFdCwd), guestPath, out var absolute);
            if (r < 0) return r;
            guestPath = absolute!;
        }
        return LinuxProcess.OpenProgram(p.Root, p.Paths, p.Files.WorkingDirectory, guestPath);
    }

    /// <summary>execve's permission check: execute permission on a file that is not a directory.</summary>
    private static long CheckExecutable(int fd)
    {
        var bytes = Encoding.UTF8.GetBytes($"/proc/self/fd/{fd}\0");
        fixed (byte* at = bytes) return Libc.Check(Libc.faccessat(Libc.AtFdCwd, at, 1 /* X_OK */, 0));
    }

    /// <summary>A NULL-terminated array of guest string pointers (argv, envp); null when unreadable.</summary>
    internal static List<string>? ReadStrings(LinuxProcess p, ulong array)
    {
        var list = new List<string>();
        if (array == 0) return list;
        for (ulong at = array; list.Count < MaxArguments; at += 8)
        {
            if (!p.Memory.TryReadUInt64(at, out ulong pointer)) return null;
            if (pointer == 0) return list;
            var s = p.Memory.ReadCString(pointer, 1 << 20);
            if (s is null) return null;
            list.Add(s);
        }
        return null;
    }

    [Syscall(260, "wait4", "dxwx")]
    private static long Wait4(LinuxProcess p, in SyscallArgs a)
    {
        int pid = a.Int(0), options = a.Int(2);
        // WNOHANG, WUNTRACED, WCONTINUED, __WNOTHREAD, __WCLONE, __WALL: anything else is EINVAL.
        if ((options & ~(WNoHang | 0x2 | 0x8 | 0x20000000 | 0x40000000 | unchecked((int)0x80000000))) != 0) return -Errno.EINVAL;
        if (pid == int.MinValue) return -Errno.ESRCH; // its negation, the group, is no pid
        Func<LinuxProcess, bool> selects = pid switch
        {
            < -1 => c => c.ProcessGroup == -pid,
            -1 => _ => true,
            0 => c => c.ProcessGroup == p.ProcessGroup,
            _ => c => c.Pid == pid,
        };
        var (child, error) = p.Table.Wait(p, selects, (options & WNoHang) != 0, keep: false, p.HasDeliverableSignal);
        if (child is null) return error;
        ResourceUsage.Accumulate(p.ChildrenUsage, child.FinalUsage);
        var exit = child.ExitStatus!.Value;
        int status = exit.WaitStatus;
        if (a.A1 != 0 && !Guest.Put(p, a.A1, status)) return -Errno.EFAULT;
        if (a.A3 != 0) PutRusage(p, a.A3, child.FinalUsage);
        return child.Pid;
    }

    [Syscall(95, "waitid", "ddxwx")]
    private static long WaitId(LinuxProcess p, in SyscallArgs a)
    {
        int type = a.Int(0), id = a.Int(1), options = a.Int(3);
        if ((options & WExited) == 0) return -Errno.EINVAL;
        if (type == PPidfd)
        {
            long pid = PidFdSyscalls.PidOf(p, id);
            if (pid < 0) return pid;
            (type, id) = (PPid, (int)pid);
        }
        Func<LinuxProcess, bool>? selects = type switch
        {
            PAll => _ => true,
            PPid => c => c.Pid == id,
            PPgid => c => c.ProcessGroup == (id == 0 ? p.ProcessGroup : id),
            _ => null,
        };
        if (selects is null) return -Errno.EINVAL;
        var (child, error) = p.Table.Wait(p, selects, (options & WNoHang) != 0, keep: (options & WNoWait) != 0, p.HasDeliverableSignal);
        if (error < 0) return error;
        if (child is not null && (options & WNoWait) == 0) ResourceUsage.Accumulate(p.ChildrenUsage, child.FinalUsage);
        if (a.A2 != 0)
        {
            byte* info = Guest.Writable(p, a.A2, 128);
            if (info == null) return -Errno.EFAULT;
            new Span<byte>(info, 128).Clear();
            if (child is not null)
            {
                var exit = child.ExitStatus!.Value;
                *(int*)info = LinuxProcess.Sigchld;
                *(int*)(info + 8) = exit.CoreDumped ? CldDumped : exit.Signal != 0 ? CldKilled : CldExited;
                *(int*)(info + 16) = child.Pid;
                *(uint*)(info + 20) = Libc.getuid();
                *(int*)(info + 24) = exit.Signal != 0 ? exit.Signal : exit.Status;
            }
            p.Memory.NoteWritten(a.A2, 128);
        }
        if (a.A4 != 0) PutRusage(p, a.A4, child?.FinalUsage ?? new byte[ResourceUsage.RusageSize]);
        return 0;
    }

    private static void PutRusage(LinuxProcess p, ulong address, byte[] usage)
    {
        byte* at = Guest.Writable(p, address, ResourceUsage.RusageSize);
        if (at == null) return;
        usage.CopyTo(new Span<byte>(at, ResourceUsage.RusageSize));
        p.Memory.NoteWritten(address, ResourceUsage.RusageSize);
    }

    [Syscall(154, "setpgid", "dd")]
    private static long SetPgid(LinuxProcess p, in SyscallArgs a)
    {
        int pid = a.Int(0), pgid = a.Int(1);
        if (pgid < 0) return -Errno.EINVAL;
        var target = pid == 0 || pid == p.Pid ? p : p.Table.Find(pid);
        if (target is null || (target != p && target.Parent != p)) return -Errno.ESRCH;
        target.ProcessGroup = pgid == 0 ? target.Pid : pgid;
        return 0;
    }

    [Syscall(155, "getpgid", "d")]
    private static long GetPgid(LinuxProcess p, in SyscallArgs a)
    {
        var target = a.Int(0) == 0 ? p : p.Table.Find(a.Int(0));
        return target?.ProcessGroup ?? -Errno.ESRCH;
    }

    [Syscall(157, "setsid")]
    private static long SetSid(LinuxProcess p, in SyscallArgs a)
    {
        if (p.ProcessGroup == p.Pid) return -Errno.EPERM;
        p.Session = p.ProcessGroup = p.Pid;
        return p.Pid;
    }

    [Syscall(156, "getsid", "d")]
    private static long GetSid(LinuxProcess p, in SyscallArgs a)
    {
        var target = a.Int(0) == 0 ? p : p.Table.Find(a.Int(0));
        return target?.Session ?? -Errno.ESRCH;
    }
}
