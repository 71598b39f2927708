using Isomorph.Linux.Host;

namespace Isomorph.Linux.FileSystem;

/// <summary>
/// The guest's file descriptors: each guest descriptor owns one host descriptor. The table keeps
/// guest numbering apart from the host's, so a guest cannot close or overwrite the descriptors
/// the VM itself uses; guest 0, 1 and 2 start as the host's standard streams. The table also
/// holds the process's working directory as a host directory descriptor, because all guest
/// processes share one host process and so cannot each have a host working directory. The
/// threads of a process share its table (CLONE_FILES, CLONE_FS), so every operation takes a lock.
/// </summary>
public sealed class FileTable
{
    /// <summary>nr_open: no descriptor number reaches this, whatever RLIMIT_NOFILE says.</summary>
    public const int MaxDescriptors = 1 << 20;

    /// <summary>A guest descriptor: its host descriptor, its close-on-exec flag, a made-up listing; <see cref="Open"/> is false in a free slot.</summary>
    private readonly record struct Entry(bool Open, int HostFd, bool CloseOnExec, DirectoryListing? Listing = null)
    {
        public static Entry Of(int hostFd, bool closeOnExec, DirectoryListing? listing = null) => new(true, hostFd, closeOnExec, listing);
    }

    /// <summary>
    /// The descriptors by guest number, as the kernel's fdtable: an array that grows (doubling) to
    /// the highest number in use. (A sorted dictionary held them before; its generic code over
    /// this struct is not in the ReadyToRun image, and jitting it cost every run 15 ms of start-up.)
    /// </summary>
    private Entry[] _entries = new Entry[16];
    private readonly Lock _sync = new();
    private int _lowestFree; // no free number below it

    /// <summary>The entry of guest descriptor <paramref name="fd"/> when it is open (any number: one out of the table's range is not). Under the lock.</summary>
    private bool TryGet(long fd, out Entry entry)
    {
        entry = fd >= 0 && fd < _entries.Length ? _entries[fd] : default;
        return entry.Open;
    }

    private void Set(int fd, Entry entry)
    {
        if (fd >= _entries.Length) Array.Resize(ref _entries, Math.Max(fd + 1, Math.Min(_entries.Length * 2, MaxDescriptors)));
        _entries[fd] = entry;
    }

    /// <summary>The open descriptors' numbers, in order (under the lock).</summary>
    private List<int> OpenNumbers(Func<Entry, bool>? where = null)
    {
        var numbers = new List<int>();
        for (int fd = 0; fd < _entries.Length; fd++)
            if (_entries[fd].Open && (where is null || where(_entries[fd]))) numbers.Add(fd);
        return numbers;
    }

    /// <summary>
    /// RLIMIT_NOFILE, which is per process (a forked child inherits it): new descriptors get numbers
    /// below <see cref="Limits"/>' soft limit. It starts as the host's limits were when the VM
    /// started (what the guest would have had natively); the VM then raises its own host limit as far
    /// as it may (<see cref="HostLimits"/>), since every guest process's descriptors are the one host process's.
    /// </summary>
    public (ulong Soft, ulong Hard) Limits { get; set; } = HostLimits.Value;

    /// <summary>
    /// The guest's first RLIMIT_NOFILE: the host's as the VM found it, less what the VM keeps for
    /// itself (<see cref="VmReserve"/>) where the host's hard limit leaves no room above it. The
    /// VM's own soft limit is raised as far as the host allows (to nr_open, else to the hard limit).
    /// </summary>
    public static readonly Lazy<(ulong Soft, ulong Hard)> HostLimits = new(RaiseHostLimit);

    /// <summary>Host descriptors the VM needs beside the guest's: the runtime's own, one wakeup eventfd per guest thread, program files.</summary>
    private const ulong VmReserve = 256;

    private static unsafe (ulong Soft, ulong Hard) RaiseHostLimit()
    {
        const int RlimitNofile = 7;
        ulong* limit = stackalloc ulong[2];
        if (Libc.prlimit(0, RlimitNofile, null, (byte*)limit) != 0) return (1024, 4096);
        ulong soft = limit[0], hard = limit[1];
        limit[0] = limit[1] = MaxDescriptors;
        if (Libc.prlimit(0, RlimitNofile, (byte*)limit, null) != 0)
        {
            limit[0] = limit[1] = hard;
            Libc.prlimit(0, RlimitNofile, (byte*)limit, null);
        }
        Libc.prlimit(0, RlimitNofile, null, (byte*)limit);
        ulong room = limit[0] > VmReserve * 2 ? limit[0] - VmReserve : limit[0] / 2;
        return (Math.Min(soft, room), Math.Min(hard, room));
    }

    /// <summary>The host descriptor of the working directory (opened with O_PATH).</summary>
    public int WorkingDirectory { get; private set; }

    public FileTable()
    {
        for (int fd = 0; fd < 3; fd++) Set(fd, Entry.Of(fd, false));
        WorkingDirectory = Libc.OpenDirectory(Libc.AtFdCwd, ".");
    }

    /// <summary>A table whose working directory is <paramref name="workingDirectory"/> (which it now owns), with or without the host's standard streams.</summary>
    public FileTable(int workingDirectory, bool standardStreams)
    {
        WorkingDirectory = workingDirectory;
        if (standardStreams)
            for (int fd = 0; fd < 3; fd++) Set(fd, Entry.Of(fd, false));
    }

    /// <summary>
    /// The first process of a run inherits what the host process was given beyond the standard
    /// streams, as a program does across execve: every host descriptor above 2 not marked
    /// close-on-exec (a shell's redirection, a make jobserver's pipe), at the same number. The
    /// runtime's own descriptors are all close-on-exec.
    /// </summary>
    public void InheritFromHost()
    {
        const int FGetfd = 1, FdCloexec = 1;
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (!int.TryParse(Path.GetFileName(entry), out int fd) || fd <= 2) continue;
            int flags = Libc.fcntl(fd, FGetfd, 0);
            if (flags < 0 || (flags & FdCloexec) != 0) continue;
            lock (_sync)
                if (!TryGet(fd, out _)) Set(fd, Entry.Of(fd, false));
        }
    }

    /// <summary>
    /// Host descriptors held by more than one table (a forked child's and its parent's), and how
    /// many tables beyond the first hold each. A fork shares the open file descriptions, which is
    /// exactly what one host descriptor in both tables gives (the close-on-exec flag is the table's
    /// own); duplicating every descriptor instead would double the host descriptors a fork costs,
    /// and a guest holding many could exhaust the host process's limit, the VM's own included.
    /// </summary>
    private static readonly Dictionary<int, int> s_sharers = [];
    private static readonly Lock s_sharersLock = new();

    private static void Share(int hostFd)
    {
        lock (s_sharersLock) s_sharers[hostFd] = s_sharers.GetValueOrDefault(hostFd) + 1;
    }

    /// <summary>A table lets go of a host descriptor: closed when no other table holds it.</summary>
    private static long Release(int hostFd)
    {
        lock (s_sharersLock)
        {
            if (s_sharers.TryGetValue(hostFd, out int others))
            {
                if (others == 1) s_sharers.Remove(hostFd);
                else s_sharers[hostFd] = others - 1;
                return 0;
            }
        }
        return Libc.Check(Libc.close(hostFd));
    }

    /// <summary>A forked child's table: every descriptor shared with the parent's (the same open file descriptions, as fork gives).</summary>
    public FileTable Clone()
    {
        lock (_sync)
        {
            var copy = new FileTable(Libc.fcntl(WorkingDirectory, Libc.FDupfdCloexec, 0), standardStreams: false) { Limits = Limits };
            foreach (var e in _entries)
                if (e.Open) Share(e.HostFd);
            copy._entries = (Entry[])_entries.Clone();
            copy._lowestFree = _lowestFree;
            return copy;
        }
    }

    /// <summary>The host descriptor behind guest descriptor <paramref name="fd"/>, or -1.</summary>
    public int Host(long fd)
    {
        lock (_sync) return TryGet(fd, out var e) ? e.HostFd : -1;
    }

    /// <summary>The entries the VM makes up for guest descriptor <paramref name="fd"/> when it is such a directory (<see cref="DirectoryListing"/>), else null.</summary>
    public DirectoryListing? Listing(long fd)
    {
        lock (_sync) return TryGet(fd, out var e) ? e.Listing : null;
    }

    /// <summary>The open guest descriptor numbers, in order.</summary>
    public List<int> Numbers()
    {
        lock (_sync) return OpenNumbers();
    }

    /// <summary>A host directory descriptor for an *at call: AT_FDCWD is the working directory.</summary>
    public int HostDirectory(long dirfd) => (int)dirfd == Libc.AtFdCwd ? WorkingDirectory : Host(dirfd);

    /// <summary>Makes <paramref name="hostDirectory"/> (a descriptor the table now owns) the working directory.</summary>
    public void ChangeDirectory(int hostDirectory)
    {
        lock (_sync)
        {
            Libc.close(WorkingDirectory);
            WorkingDirectory = hostDirectory;
        }
    }

    /// <summary>The working directory's host path.</summary>
    public string WorkingDirectoryPath() =>
        new FileInfo($"/proc/self/fd/{WorkingDirectory}").LinkTarget ?? Directory.GetCurrentDirectory();

    /// <summary>execve: closes the descriptors marked close-on-exec.</summary>
    public void CloseOnExecAll()
    {
        List<int> marked;
        lock (_sync) marked = OpenNumbers(e => e.CloseOnExec);
        foreach (var fd in marked) Close(fd);
    }

    /// <summary>What a new program inherits across execve: every descriptor not marked close-on-exec, with its host descriptor.</summary>
    public List<(int Fd, int HostFd)> Inherited()
    {
        var inherited = new List<(int Fd, int HostFd)>();
        lock (_sync)
            for (int fd = 0; fd < _entries.Length; fd++)
                if (_entries[fd] is { Open: true, CloseOnExec: false } e) inherited.Add((fd, e.HostFd));
        return inherited;
    }

    /// <summary>Process exit: closes every descriptor, so pipe readers see end of file.</summary>
    public void CloseAll()
    {
        List<int> all;
        lock (_sync) all = OpenNumbers();
        foreach (var fd in all) Close(fd);
        lock (_sync)
        {
            if (WorkingDirectory >= 0) Libc.close(WorkingDirectory);
            WorkingDirectory = -1;
        }
    }

    /// <summary>Adds a host descriptor at the lowest free guest number at or above <paramref name="minimum"/>; -EMFILE when none is below the soft limit (-EINVAL when <paramref name="minimum"/> is not, as F_DUPFD answers).</summary>
    public long Add(int hostFd, bool closeOnExec, int minimum = 0, DirectoryListing? listing = null)
    {
        lock (_sync)
        {
            int limit = (int)Math.Min(Limits.Soft, MaxDescriptors);
            if (minimum < 0 || minimum >= limit)
            {
                Libc.close(hostFd);
                return -Errno.EINVAL;
            }
            for (int fd = Math.Max(minimum, _lowestFree); fd < limit; fd++)
            {
                if (TryGet(fd, out _)) continue;
                Set(fd, Entry.Of(hostFd, closeOnExec, listing));
                if (minimum <= _lowestFree) _lowestFree = fd + 1;
                return fd;
            }
        }
        Libc.close(hostFd);
        return -Errno.EMFILE;
    }

    /// <summary>Puts a host descriptor at guest number <paramref name="fd"/>, closing what was there (dup3).</summary>
    public long Replace(int fd, int hostFd, bool closeOnExec)
    {
        if (fd < 0 || (ulong)fd >= Math.Min(Limits.Soft, MaxDescriptors))
        {
            Libc.close(hostFd);
            return -Errno.EBADF;
        }
        lock (_sync)
        {
            if (TryGet(fd, out var old)) Release(old.HostFd);
            Set(fd, Entry.Of(hostFd, closeOnExec));
        }
        return fd;
    }

    public long Close(long fd)
    {
        Entry e;
        lock (_sync)
        {
            if (!TryGet(fd, out e)) return -Errno.EBADF;
            _entries[fd] = default;
            _lowestFree = Math.Min(_lowestFree, (int)fd);
        }
        return Release(e.HostFd);
    }

    public bool? CloseOnExec(long fd)
    {
        lock (_sync) return TryGet(fd, out var e) ? e.CloseOnExec : null;
    }

    public void SetCloseOnExec(long fd, bool on)
    {
        lock (_sync)
            if (TryGet(fd, out var e)) _entries[fd] = e with { CloseOnExec = on };
    }
}
