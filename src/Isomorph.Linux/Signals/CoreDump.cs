using System.Buffers.Binary;
using System.Text;
using Isomorph.Linux.Host;
using Isomorph.Linux.Memory;
using Isomorph.Riscv;

namespace Isomorph.Linux.Signals;

/// <summary>
/// A guest process's core dump, as riscv64 Linux writes one for a signal whose default action is
/// to dump core: an ELF core file (ET_CORE, EM_RISCV) with the registers of the thread the signal
/// ended the process on (NT_PRSTATUS, NT_FPREGSET), the process (NT_PRPSINFO), and one PT_LOAD per
/// mapping with the bytes of the readable ones; gdb-multiarch reads it as it reads one from Linux.
/// The dump is made only while RLIMIT_CORE allows at least a page, and is cut at the limit (Linux
/// counts that as dumped: the status then carries WCOREDUMP). It is written in the guest's working
/// directory under the name the host's kernel.core_pattern gives when that is a plain name
/// (%p, %P, %e, %u, %g, %t and %% expanded; ".PID" added when kernel.core_uses_pid asks); a pattern
/// that names a directory or a program (which would receive a riscv64 core it cannot place) gives "core".
/// </summary>
internal static unsafe class CoreDump
{
    /// <summary>The signals whose default action is to dump core (signal(7)).</summary>
    public static bool DumpsCore(int signal) => signal is 3 or 4 or 5 or 6 or 7 or 8 or 11 or 24 or 25 or 31;

    /// <summary>What a dump keeps of the thread a signal ended the process on, taken as it ended.</summary>
    public sealed class Registers
    {
        public readonly ulong[] X = new ulong[32];
        public readonly ulong[] F = new ulong[32];
        public ulong Pc;
        public uint Fcsr;
        public int Tid;

        public static Registers Of(Hart hart, int tid)
        {
            var r = new Registers { Pc = hart.Pc, Tid = tid };
            for (int i = 0; i < 32; i++) (r.X[i], r.F[i]) = (hart.X[i], hart.F[i]);
            r.Fcsr = hart.Frm << 5 | hart.FpFlags;
            return r;
        }
    }

    private const int RlimitCore = 4;
    private const int OWronly = 1, OCreat = 0x40, OTrunc = 0x200, ONofollow = 0x20000; // the host's (x86-64) open flags
    private const uint PtLoad = 1, PtNote = 4;
    private const uint NtPrstatus = 1, NtFpregset = 2, NtPrpsinfo = 3;

    /// <summary>Writes the core file of <paramref name="p"/>, ended by <paramref name="signal"/>; true when Linux would say it dumped core.</summary>
    public static bool Write(LinuxProcess p, int signal, Registers registers)
    {
        ulong* limit = stackalloc ulong[2];
        if (Libc.prlimit(0, RlimitCore, null, (byte*)limit) != 0 || limit[0] < GuestAddressSpace.PageSize) return false;
        if (p.Memory is not { } memory) return false;
        string name = FileName(p, signal);
        int fd;
        fixed (byte* path = Encoding.UTF8.GetBytes(name + "\0"))
            fd = Libc.openat(p.Files.WorkingDirectory, path, OWronly | OCreat | OTrunc | ONofollow | Libc.OCloexec, 0x180 /* 0600 */);
        if (fd < 0) return false;
        try
        {
            var output = new LimitedOutput(fd, limit[0]);
            WriteCore(p, memory, signal, registers, output);
            return true; // cut at the limit or not, as Linux counts it
        }
        finally
        {
            Libc.close(fd);
        }
    }

    private static void WriteCore(LinuxProcess p, GuestAddressSpace memory, int signal, Registers r, LimitedOutput output)
    {
        var mappings = memory.Mappings();
        byte[] notes = Notes(p, signal, r);
        int headers = 1 + mappings.Count;
        ulong dataStart = (ulong)(64 + 56 * headers) + (ulong)notes.Length;
        dataStart = (dataStart + GuestAddressSpace.PageSize - 1) & ~(GuestAddressSpace.PageSize - 1);

        var head = new byte[64 + 56 * headers];
        var h = head.AsSpan();
        "\x7f"u8.CopyTo(h); "ELF"u8.CopyTo(h[1..]);
        h[4] = 2; h[5] = 1; h[6] = 1;                     // ELFCLASS64, little-endian, EV_CURRENT, System V ABI
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 4);   // ET_CORE
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 243); // EM_RISCV
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt64LittleEndian(h[32..], 64);  // e_phoff
        BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);  // e_ehsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[54..], 56);  // e_phentsize
        BinaryPrimitives.WriteUInt16LittleEndian(h[56..], (ushort)headers);

        void Header(int index, uint type, uint flags, ulong offset, ulong vaddr, ulong filesz, ulong memsz, ulong align)
        {
            var ph = head.AsSpan(64 + 56 * index, 56);
            BinaryPrimitives.WriteUInt32LittleEndian(ph, type);
            BinaryPrimitives.WriteUInt32LittleEndian(ph[4..], flags);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[8..], offset);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[16..], vaddr);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[32..], filesz);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[40..], memsz);
            BinaryPrimitives.WriteUInt64LittleEndian(ph[48..], align);
        }
        Header(0, PtNote, 0, (ulong)(64 + 56 * headers), 0, (ulong)notes.Length, 0, 4);
        ulong offset = dataStart;
        for (int i = 0; i < mappings.Count; i++)
        {
            var (start, end, flags) = mappings[i];
            ulong size = end - start;
            bool dumped = Dumped(flags);
            uint pf = ((flags & PageFlags.Read) != 0 ? 4u : 0) | ((flags & PageFlags.Write) != 0 ? 2u : 0) | ((flags & PageFlags.Execute) != 0 ? 1u : 0);
            Header(1 + i, PtLoad, pf, offset, start, dumped ? size : 0, size, GuestAddressSpace.PageSize);
            if (dumped) offset += size;
        }
        output.Write(head);
        output.Write(notes);
        output.Pad(dataStart);
        foreach (var (start, end, flags) in mappings)
        {
            if (!Dumped(flags)) continue;
            for (ulong at = start; at < end && !output.Full; at += 1ul << 20)
                output.Write(memory.Span(at, (int)Math.Min(1ul << 20, end - at)));
        }
    }

    /// <summary>Whether a mapping's bytes go into the dump: readable, and not past the end of a file (whose host pages are not the file's).</summary>
    private static bool Dumped(PageFlags flags) => (flags & PageFlags.Read) != 0 && (flags & PageFlags.BeyondFile) == 0;

    private static byte[] Notes(LinuxProcess p, int signal, Registers r)
    {
        var notes = new MemoryStream();
        // struct elf_prstatus (376 bytes on riscv64): pr_info, pr_cursig, then pids at 32, pr_reg at 112.
        var status = new byte[376];
        var s = status.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(s, signal);           // pr_info.si_signo
        BinaryPrimitives.WriteInt16LittleEndian(s[12..], (short)signal); // pr_cursig
        BinaryPrimitives.WriteInt32LittleEndian(s[32..], r.Tid);
        BinaryPrimitives.WriteInt32LittleEndian(s[36..], p.ParentPid);
        BinaryPrimitives.WriteInt32LittleEndian(s[40..], p.ProcessGroup);
        BinaryPrimitives.WriteInt32LittleEndian(s[44..], p.Session);
        // elf_gregset_t: pc, then x1..x31.
        BinaryPrimitives.WriteUInt64LittleEndian(s[112..], r.Pc);
        for (int i = 1; i < 32; i++) BinaryPrimitives.WriteUInt64LittleEndian(s[(112 + 8 * i)..], r.X[i]);
        BinaryPrimitives.WriteInt32LittleEndian(s[368..], 1);          // pr_fpvalid
        Note(notes, NtPrstatus, status);

        // struct elf_prpsinfo (136 bytes on riscv64).
        var info = new byte[136];
        var n = info.AsSpan();
        n[0] = 0; n[1] = (byte)'R';
        BinaryPrimitives.WriteUInt32LittleEndian(n[16..], Libc.getuid());
        BinaryPrimitives.WriteUInt32LittleEndian(n[20..], Libc.getgid());
        BinaryPrimitives.WriteInt32LittleEndian(n[24..], p.Pid);
        BinaryPrimitives.WriteInt32LittleEndian(n[28..], p.ParentPid);
        BinaryPrimitives.WriteInt32LittleEndian(n[32..], p.ProcessGroup);
        BinaryPrimitives.WriteInt32LittleEndian(n[36..], p.Session);
        var comm = Encoding.UTF8.GetBytes(Path.GetFileName(p.GuestExecutablePath));
        comm.AsSpan(0, Math.Min(15, comm.Length)).CopyTo(n[40..]);
        comm.AsSpan(0, Math.Min(79, comm.Length)).CopyTo(n[56..]);
        Note(notes, NtPrpsinfo, info);

        // The D extension's state: f0..f31, fcsr.
        var fp = new byte[264];
        for (int i = 0; i < 32; i++) BinaryPrimitives.WriteUInt64LittleEndian(fp.AsSpan(8 * i), r.F[i]);
        BinaryPrimitives.WriteUInt32LittleEndian(fp.AsSpan(256), r.Fcsr);
        Note(notes, NtFpregset, fp);
        return notes.ToArray();
    }

    /// <summary>One ELF note named "CORE", its name and description each padded to four bytes.</summary>
    private static void Note(MemoryStream notes, uint type, byte[] description)
    {
        Span<byte> head = stackalloc byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(head, 5);
        BinaryPrimitives.WriteUInt32LittleEndian(head[4..], (uint)description.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(head[8..], type);
        "CORE\0\0\0\0"u8.CopyTo(head[12..]);
        notes.Write(head);
        notes.Write(description);
        for (int pad = (4 - description.Length % 4) % 4; pad > 0; pad--) notes.WriteByte(0);
    }

    /// <summary>The core file's name from the host's kernel.core_pattern and kernel.core_uses_pid.</summary>
    private static string FileName(LinuxProcess p, int signal)
    {
        string pattern = ReadSetting("/proc/sys/kernel/core_pattern") ?? "core";
        if (pattern.Length == 0 || pattern.StartsWith('|') || pattern.Contains('/')) pattern = "core";
        var name = new StringBuilder();
        bool hasPid = false;
        for (int i = 0; i < pattern.Length; i++)
        {
            if (pattern[i] != '%' || i + 1 == pattern.Length)
            {
                name.Append(pattern[i]);
                continue;
            }
            char c = pattern[++i];
            hasPid |= c is 'p' or 'P';
            name.Append(c switch
            {
                '%' => "%",
                'p' or 'P' => p.Pid.ToString(),
                'e' => Path.GetFileName(p.GuestExecutablePath) is { Length: > 15 } e ? e[..15] : Path.GetFileName(p.GuestExecutablePath),
                'u' => Libc.getuid().ToString(),
                'g' => Libc.getgid().ToString(),
                's' => signal.ToString(),
                't' => DateTimeOffset.UtcNow.ToUnixTimeSeconds().ToString(),
                _ => "",
            });
        }
        if (!hasPid && ReadSetting("/proc/sys/kernel/core_uses_pid") == "1") name.Append('.').Append(p.Pid);
        string result = name.ToString().Replace('/', '!');
        return result.Length == 0 || result is "." or ".." ? "core" : result;
    }

    private static string? ReadSetting(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>Writes to a descriptor up to a byte limit (RLIMIT_CORE); what lies past it is dropped, as Linux cuts a core.</summary>
    private sealed class LimitedOutput(int fd, ulong limit)
    {
        private ulong _written;

        public bool Full => _written >= limit;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            if (Full) return;
            bytes = bytes[..(int)Math.Min((ulong)bytes.Length, limit - _written)];
            fixed (byte* at = bytes)
                for (int done = 0; done < bytes.Length;)
                {
                    long n = Libc.write(fd, at + done, (nuint)(bytes.Length - done));
                    if (n <= 0)
                    {
                        _written = limit; // a full disk ends the dump, as it ends Linux's
                        return;
                    }
                    done += (int)n;
                }
            _written += (ulong)bytes.Length;
        }

        /// <summary>Zeros up to file offset <paramref name="offset"/>.</summary>
        public void Pad(ulong offset)
        {
            Span<byte> zeros = stackalloc byte[256];
            zeros.Clear();
            while (_written < offset && !Full) Write(zeros[..(int)Math.Min(256, offset - _written)]);
        }
    }
}
