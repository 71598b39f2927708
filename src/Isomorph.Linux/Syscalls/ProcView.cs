namespace Isomorph.Linux.Syscalls;

/// <summary>
/// What a guest confined with --root sees of /proc: the host's /proc is out of reach (it would lead
/// outside the root), and only the links a process has to itself are served, as paths inside the
/// root: /proc/self/exe (and /proc/PID/exe for its own PID), cwd, root (always "/") and fd/N (the
/// guest path of an open file or directory; pipes and sockets read as the host's "pipe:[…]" text and
/// cannot be followed). Every other path under /proc is looked up in the root like any other, so a
/// root that carries no /proc has none. Opening /proc/self/fd/N reopens the descriptor's own object.
/// A few files programs read are written by the VM, with or without --root (<see cref="Synthesized"/>):
/// /proc/self/maps (the guest's own mappings, not the host process's), /proc/cpuinfo (riscv64's
/// fields) and, under --root, /proc/meminfo (the host's).
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
        return absolute == "/proc/self/maps" || absolute == $"/proc/{p.Pid}/maps" ? Maps(p) : null;
    }

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
