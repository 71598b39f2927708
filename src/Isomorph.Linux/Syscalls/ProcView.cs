namespace Isomorph.Linux.Syscalls;

/// <summary>
/// What a guest confined with --root sees of /proc: the host's /proc is out of reach (it would lead
/// outside the root), and only the links a process has to itself are served, as paths inside the
/// root: /proc/self/exe (and /proc/PID/exe for its own PID), cwd, root (always "/") and fd/N (the
/// guest path of an open file or directory; pipes and sockets read as the host's "pipe:[…]" text and
/// cannot be followed). Every other path under /proc is looked up in the root like any other, so a
/// root that carries no /proc has none. Opening /proc/self/fd/N reopens the descriptor's own object.
/// A few files programs read are written by the VM, with or without --root (<see cref="Synthesized"/>):
/// /proc/self/maps (the guest's own mappings, not the host process's), /proc/PID/stat and
/// /proc/PID/status of the VM's processes, /proc/cpuinfo (riscv64's fields) and, under --root,
/// /proc/meminfo (the host's).
/// </summary>
internal static class ProcView
{
    /// <summary>The ISA string /proc/cpuinfo gives, as riscv64 Linux prints the harts' extensions.</summary>
    private const string Isa = "rv64imafdc_zicsr_zifencei_zba_zbb_zbs";

    /// <summary>The contents of a /proc file the VM writes itself, or null when <paramref name="absolute"/> is none of them.</summary>
    public static string? Synthesized(LinuxProcess p, string absolute)
    {
        if (absolute == "/proc/cpuinfo") return CpuInfo();
        if (absolute == "/proc/meminfo" && p.Root is not null) return File.ReadAllText("/proc/meminfo");
        if (absolute == "/proc/self/maps" || absolute == $"/proc/{p.Pid}/maps") return Maps(p);
        return TaskStat(p, absolute) ?? TaskStatus(p, absolute);
    }

    /// <summary>
    /// /proc/PID/stat and /proc/PID/task/TID/stat (PID also self, /proc/thread-self/stat) of the
    /// VM's own processes and threads, whose ids are the VM's and not the host's: state (R running
    /// guest code, S asleep in a system call, Z ended and not reaped), parent, group, session, CPU
    /// time, thread count; the counters the VM does not keep read 0. Null for anything else.
    /// </summary>
    private static string? TaskStat(LinuxProcess p, string absolute)
    {
        if (Task(p, absolute, "stat") is not { } r) return null;
        var (q, th) = (r.Process, r.Thread);
        char state = State(q, th);
        string comm = Path.GetFileName(q.GuestExecutablePath);
        if (comm.Length > 15) comm = comm[..15];
        int id2 = th?.Tid ?? q.Pid;
        // Fields 1-52 of proc(5): pid comm state ppid pgrp session tty_nr tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime
        // vsize rss rsslim, then addresses, signal masks, wchan..., exit_signal 17 (SIGCHLD), the rest 0.
        bool oneThread = absolute.Contains("/task/", StringComparison.Ordinal) || absolute.StartsWith("/proc/thread-self/", StringComparison.Ordinal);
        var (user, system) = CpuTicks(oneThread && th is not null ? [th] : q.Threads);
        return $"{id2} ({comm}) {state} {q.ParentPid} {q.ProcessGroup} {q.Session} 0 -1 0 0 0 0 0 {user} {system} 0 0 20 0 {Math.Max(1, q.Threads.Count)} 0 0 0 0 "
             + "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n";
    }

    /// <summary>
    /// /proc/PID/fd and /proc/PID/task (PID also self) of the VM's own processes: their descriptor
    /// numbers and thread ids are the VM's, so the entries are made up (<see cref="FileSystem.DirectoryListing"/>).
    /// Null for any other path.
    /// </summary>
    public static FileSystem.DirectoryListing? SynthesizedDirectory(LinuxProcess p, string absolute)
    {
        if (!absolute.StartsWith("/proc/", StringComparison.Ordinal)) return null;
        var parts = absolute[6..].TrimEnd('/').Split('/');
        if (parts.Length != 2 || ProcessOf(p, parts[0]) is not { } q) return null;
        var dots = new List<(string, byte)> { (".", FileSystem.DirectoryListing.TypeDirectory), ("..", FileSystem.DirectoryListing.TypeDirectory) };
        switch (parts[1])
        {
            case "fd":
                dots.AddRange(q.Files.Numbers().Select(n => (n.ToString(), FileSystem.DirectoryListing.TypeLink)));
                return new(dots);
            case "task":
                dots.AddRange(q.Threads.Select(t => (t.Tid.ToString(), FileSystem.DirectoryListing.TypeDirectory)));
                return new(dots);
            default:
                return null;
        }
    }

    /// <summary>
    /// The user and system CPU time of guest threads, in clock ticks (utime and stime): their host
    /// threads' own, from the host's /proc (a thread that has ended no longer counts).
    /// </summary>
    private static (ulong User, ulong System) CpuTicks(IEnumerable<Threads.GuestThread> threads)
    {
        ulong user = 0, system = 0;
        foreach (var t in threads)
        {
            if (t.HostTid == 0) continue;
            try
            {
                string text = File.ReadAllText($"/proc/self/task/{t.HostTid}/stat");
                var fields = text[(text.LastIndexOf(')') + 2)..].Split(' '); // fields[0] is field 3, the state
                user += ulong.Parse(fields[14 - 3]);
                system += ulong.Parse(fields[15 - 3]);
            }
            catch (IOException) { } // the host thread ended just now
        }
        return (user, system);
    }

    /// <summary>A thread's state as /proc shows it: S asleep in a system call's wait, R otherwise, Z ended and not reaped.</summary>
    private static char State(LinuxProcess q, Threads.GuestThread? th) =>
        q.IsZombie || th is null ? 'Z' : th.Sleeping ? 'S' : 'R';

    /// <summary>The thread a /proc/PID[/task/TID]/NAME path names (PID also self, /proc/thread-self/NAME), or null.</summary>
    private static GuestThreadRef? Task(LinuxProcess p, string absolute, string name)
    {
        if (!absolute.StartsWith("/proc/", StringComparison.Ordinal) || !absolute.EndsWith("/" + name, StringComparison.Ordinal)) return null;
        var parts = absolute[6..^(name.Length + 1)].Split('/');
        return parts switch
        {
            ["thread-self"] => new(p, p.Current),
            [var pid] => ProcessOf(p, pid) is { } process ? new(process, process.Threads.FirstOrDefault()) : null,
            [var pid, "task", var tid] => ProcessOf(p, pid) is { } process && int.TryParse(tid, out int id)
                && process.Threads.FirstOrDefault(t => t.Tid == id) is { } thread ? new(process, thread) : null,
            _ => null,
        };
    }

    /// <summary>
    /// /proc/PID/status (and a task's) of the VM's own processes: ids, credentials, the address
    /// space's sizes from the guest's mappings (VmLck from MAP_LOCKED and mlock, VmRSS from the pages
    /// the host holds), threads and signal masks. Counters the VM does not keep read 0.
    /// </summary>
    private static unsafe string? TaskStatus(LinuxProcess p, string absolute)
    {
        if (Task(p, absolute, "status") is not { } r) return null;
        var (q, th) = (r.Process, r.Thread);
        string comm = Path.GetFileName(q.GuestExecutablePath);
        if (comm.Length > 15) comm = comm[..15];
        string state = State(q, th) switch { 'Z' => "Z (zombie)", 'S' => "S (sleeping)", _ => "R (running)" };
        ulong size = 0, data = 0, resident = 0, locked = 0;
        if (q.Memory is { } memory)
        {
            using var presence = new Memory.HostPagePresence();
            foreach (var (start, end, flags) in memory.Mappings())
            {
                size += end - start;
                bool stack = start < q.Layout.StackTop && end > q.Layout.StackBottom;
                if ((flags & Memory.PageFlags.Write) != 0 && (flags & Memory.PageFlags.Shared) == 0 && !stack) data += end - start;
                if ((flags & Memory.PageFlags.Access) == 0) continue; // a reservation: never resident
                for (ulong at = start; at < end; at += 512 * Memory.GuestAddressSpace.PageSize)
                {
                    ulong pages = Math.Min(512, (end - at) >> Memory.GuestAddressSpace.PageShift);
                    foreach (bool held in presence.Present(memory.HostAddress(at), pages))
                        if (held) resident += Memory.GuestAddressSpace.PageSize;
                }
            }
            locked = memory.LockedBytes;
        }
        ulong stackSize = q.Layout.StackTop - q.Layout.StackBottom;
        var masks = th is null ? default : q.SignalMasks(th);
        static string Kb(ulong bytes) => $"{bytes / 1024,8} kB";
        uint uid = Host.Libc.getuid(), gid = Host.Libc.getgid(), euid = Host.Libc.geteuid(), egid = Host.Libc.getegid();
        int tid = th?.Tid ?? q.Pid;
        int cpus = Environment.ProcessorCount;
        return $"Name:\t{comm}\nUmask:\t{Convert.ToString(q.Umask, 8).PadLeft(4, '0')}\nState:\t{state}\nTgid:\t{q.Pid}\nNgid:\t0\nPid:\t{tid}\nPPid:\t{q.ParentPid}\nTracerPid:\t0\n"
             + $"Uid:\t{uid}\t{euid}\t{euid}\t{euid}\nGid:\t{gid}\t{egid}\t{egid}\t{egid}\nFDSize:\t64\nGroups:\t\n"
             + $"NStgid:\t{q.Pid}\nNSpid:\t{tid}\nNSpgid:\t{q.ProcessGroup}\nNSsid:\t{q.Session}\nKthread:\t0\n"
             + $"VmPeak:\t{Kb(size)}\nVmSize:\t{Kb(size)}\nVmLck:\t{Kb(locked)}\nVmPin:\t{Kb(0)}\nVmHWM:\t{Kb(resident)}\nVmRSS:\t{Kb(resident)}\n"
             + $"RssAnon:\t{Kb(resident)}\nRssFile:\t{Kb(0)}\nRssShmem:\t{Kb(0)}\nVmData:\t{Kb(data)}\nVmStk:\t{Kb(stackSize)}\n"
             + $"VmExe:\t{Kb(0)}\nVmLib:\t{Kb(0)}\nVmPTE:\t{Kb(0)}\nVmSwap:\t{Kb(0)}\nHugetlbPages:\t{Kb(0)}\nCoreDumping:\t0\nTHP_enabled:\t1\n"
             + $"Threads:\t{Math.Max(1, q.Threads.Count)}\nSigQ:\t0/31574\nSigPnd:\t{masks.Pending:x16}\nShdPnd:\t{masks.SharedPending:x16}\n"
             + $"SigBlk:\t{masks.Blocked:x16}\nSigIgn:\t{masks.Ignored:x16}\nSigCgt:\t{masks.Caught:x16}\n"
             + HostLines("Cap", "NoNewPrivs:", "Seccomp")
             + $"Cpus_allowed:\t{(1ul << cpus) - 1:x}\nCpus_allowed_list:\t0-{cpus - 1}\n"
             + "Mems_allowed:\t1\nMems_allowed_list:\t0\nvoluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n";
    }

    /// <summary>The lines of the calling host thread's own status that start with one of <paramref name="prefixes"/>: its capabilities and seccomp state are the guest thread's.</summary>
    private static string HostLines(params string[] prefixes)
    {
        try
        {
            return string.Concat(File.ReadLines("/proc/thread-self/status").Where(l => prefixes.Any(x => l.StartsWith(x, StringComparison.Ordinal))).Select(l => l + "\n"));
        }
        catch (IOException)
        {
            return "";
        }
    }

    private readonly record struct GuestThreadRef(LinuxProcess Process, Threads.GuestThread? Thread);

    private static LinuxProcess? ProcessOf(LinuxProcess p, string pid) =>
        pid == "self" ? p : int.TryParse(pid, out int id) ? p.Table.Find(id) : null;

    private static string CpuInfo()
    {
        var sb = new System.Text.StringBuilder();
        for (int hart = 0; hart < Environment.ProcessorCount; hart++)
            sb.Append($"processor\t: {hart}\nhart\t\t: {hart}\nisa\t\t: {Isa}\nmmu\t\t: sv39\n\n");
        return sb.ToString();
    }

    /// <summary>/proc/self/maps: one line per run of pages with the same protection; the program, its interpreter, the stack and the signal trampoline (the vDSO's stand-in) named.</summary>
    private static string Maps(LinuxProcess p)
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (start, end, flags) in p.Memory.Mappings())
        {
            sb.Append($"{start:x8}-{end:x8} ")
                .Append((flags & Memory.PageFlags.Read) != 0 ? 'r' : '-')
                .Append((flags & Memory.PageFlags.Write) != 0 ? 'w' : '-')
                .Append((flags & Memory.PageFlags.Execute) != 0 ? 'x' : '-')
                .Append((flags & Memory.PageFlags.Shared) != 0 ? 's' : 'p')
                .Append(" 00000000 00:00 0");
            string? name = start < p.Layout.StackTop && end > p.Layout.StackBottom ? "[stack]"
                : p.SigreturnTrampoline >= start && p.SigreturnTrampoline < end ? "[vdso]"
                : Within(p.Program, start) ? p.GuestExecutablePath
                : p.Interpreter is { } interpreter && Within(interpreter, start) ? Guest(p, interpreter.File.Path)
                : null;
            if (name is not null) sb.Append(' ', 10).Append(name);
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static bool Within(Loading.ElfImage image, ulong address)
    {
        var (low, high) = Loading.ElfImage.Extent(image.File);
        return address >= image.Bias + low && address < image.Bias + high;
    }

    private static string Guest(LinuxProcess p, string hostPath) => p.Root?.GuestPathOfHost(hostPath) ?? hostPath;

    /// <summary>For /proc/self/{exe,cwd,root,fd/N}[/rest]: the link's name ("exe", "fd/3"…), the descriptor number, and the rest.</summary>
    private static bool Split(LinuxProcess p, string absolute, out string link, out int fd, out string rest)
    {
        link = rest = "";
        fd = -1;
        if (!absolute.StartsWith("/proc/", StringComparison.Ordinal)) return false;
        var parts = absolute[6..].Split('/', 4);
        if (parts.Length < 2 || (parts[0] != "self" && parts[0] != p.Pid.ToString())) return false;
        link = parts[1];
        int used = 2;
        if (link == "fd")
        {
            if (parts.Length < 3 || !int.TryParse(parts[2], out fd) || fd < 0) return false;
            used = 3;
        }
        else if (link is not ("exe" or "cwd" or "root")) return false;
        rest = parts.Length > used ? "/" + string.Join('/', parts[used..]) : "";
        return true;
    }

    /// <summary>What /proc/self/LINK reads as (readlink), or null when the path is not such a link or names nothing.</summary>
    public static string? LinkText(LinuxProcess p, string absolute)
    {
        if (!Split(p, absolute, out var link, out int fd, out var rest) || rest.Length > 0) return null;
        return Target(p, link, fd, allowText: true);
    }

    private static string? Target(LinuxProcess p, string link, int fd, bool allowText)
    {
        var root = p.Root!;
        switch (link)
        {
            case "exe": return p.GuestExecutablePath;
            case "cwd": return root.GuestPathOf(p.Files.WorkingDirectory);
            case "root": return "/";
        }
        int host = p.Files.Host(fd);
        if (host < 0) return null;
        var inside = root.GuestPathOf(host);
        if (inside is not null) return inside;
        if (!allowText) return null;
        string? text = new FileInfo($"/proc/self/fd/{host}").LinkTarget;
        return text is null || text.StartsWith('/') ? null : text;
    }

    /// <summary>The path with a leading /proc/self link replaced by its target (unchanged when there is none).</summary>
    public static string Rewrite(LinuxProcess p, string absolute)
    {
        if (!Split(p, absolute, out var link, out int fd, out var rest)) return absolute;
        var target = Target(p, link, fd, allowText: false);
        return target is null ? absolute : target + rest;
    }

    /// <summary>The guest descriptor an open of exactly /proc/self/fd/N reopens, or -1.</summary>
    public static int ReopenedDescriptor(LinuxProcess p, string absolute) =>
        Split(p, absolute, out var link, out int fd, out var rest) && link == "fd" && rest.Length == 0 ? fd : -1;
}
