using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Syscalls;

/// <summary>
/// process_vm_readv and process_vm_writev between the guest processes of the run, whose memories
/// the VM holds: the calling process itself, its children and any other (all run as the same host
/// user, which Linux allows without Yama). A process outside the run, or one that has ended, is
/// ESRCH. Data moves page by page in iovec order; a page that cannot be reached on either side ends
/// the transfer, which returns the bytes moved so far, or EFAULT when none were.
/// </summary>
internal static unsafe partial class ProcessMemory
{
    private const ulong IovMax = 1024;

    [Syscall(270, "process_vm_readv", "dxuxuu")]
    private static long ReadV(LinuxProcess p, in SyscallArgs a) => Transfer(p, a, write: false);

    [Syscall(271, "process_vm_writev", "dxuxuu")]
    private static long WriteV(LinuxProcess p, in SyscallArgs a) => Transfer(p, a, write: true);

    private static long Transfer(LinuxProcess p, in SyscallArgs a, bool write)
    {
        if (a.A5 != 0 || a.A2 > IovMax || a.A4 > IovMax) return -Errno.EINVAL;
        var local = (ulong*)Guest.Readable(p, a.A1, a.A2 * 16);
        var remote = (ulong*)Guest.Readable(p, a.A3, a.A4 * 16);
        if ((local == null && a.A2 > 0) || (remote == null && a.A4 > 0)) return -Errno.EFAULT;
        int pid = a.Int(0);
        var target = pid <= 0 ? null : p.Table.Find(pid) ?? p.Table.FindThread(pid)?.Process;
        if (target is null || target.IsZombie || target.Exited) return -Errno.ESRCH;
        // Copies of the iovec arrays: the guest may change them while the data moves.
        var locals = new ReadOnlySpan<ulong>(local, (int)a.A2 * 2).ToArray();
        var remotes = new ReadOnlySpan<ulong>(remote, (int)a.A4 * 2).ToArray();
        lock (target.MapLock)
        {
            if (target.Exited) return -Errno.ESRCH;
            return write ? Copy(p.Memory, locals, target.Memory, remotes) : Copy(target.Memory, remotes, p.Memory, locals);
        }
    }

    /// <summary>Copies the <paramref name="source"/> buffers into the <paramref name="destination"/> ones, in order, until either runs out or a page faults.</summary>
    private static long Copy(GuestAddressSpace from, ulong[] source, GuestAddressSpace to, ulong[] destination)
    {
        long total = 0;
        int s = 0, d = 0;
        ulong sOffset = 0, dOffset = 0;
        while (true)
        {
            while (s < source.Length / 2 && sOffset == source[2 * s + 1]) (s, sOffset) = (s + 1, 0);
            while (d < destination.Length / 2 && dOffset == destination[2 * d + 1]) (d, dOffset) = (d + 1, 0);
            if (s == source.Length / 2 || d == destination.Length / 2) return total;
            ulong src = source[2 * s] + sOffset, dst = destination[2 * d] + dOffset;
            ulong chunk = Math.Min(source[2 * s + 1] - sOffset, destination[2 * d + 1] - dOffset);
            chunk = Math.Min(chunk, GuestAddressSpace.PageSize - (src & (GuestAddressSpace.PageSize - 1)));
            chunk = Math.Min(chunk, GuestAddressSpace.PageSize - (dst & (GuestAddressSpace.PageSize - 1)));
            if (!from.Check(src, chunk, PageFlags.Read) || !to.Check(dst, chunk, PageFlags.Write))
                return total > 0 ? total : -Errno.EFAULT;
            Buffer.MemoryCopy(from.HostAddress(src), to.HostAddress(dst), chunk, chunk);
            to.NoteWritten(dst, chunk);
            total += (long)chunk;
            sOffset += chunk;
            dOffset += chunk;
        }
    }
}
