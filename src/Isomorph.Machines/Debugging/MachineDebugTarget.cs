using System.Globalization;
using System.Text;
using Isomorph.Debugging;
using Isomorph.Riscv;

namespace Isomorph.Machines.Debugging;

/// <summary>
/// A machine (bare or virt) as gdb sees it, as qemu-system's stub: each hart is a thread (id =
/// hart id + 1, "hart N"); memory is read and written through the stopped hart's own address
/// translation (satp, its privilege, MPRV), and physical memory through <c>monitor phys</c>.
/// <c>monitor snapshot PATH</c> saves the stopped machine when it can be (<paramref name="snapshot"/>:
/// writes it and says what it wrote, or throws <see cref="Devices.State.SnapshotException"/>, <see cref="IOException"/> or <see cref="InvalidOperationException"/> with the reason).
/// </summary>
public sealed class MachineDebugTarget(IReadOnlyList<Hart> harts, Action kill, Func<string, string>? snapshot = null) : IDebugTarget
{
    private readonly DebugThread[] _threads = [.. harts.Select(h => new DebugThread((int)h.HartId + 1, $"hart {h.HartId}", h))];

    public IReadOnlyList<DebugThread> Threads => _threads;

    public bool Owns(Hart hart)
    {
        foreach (var t in _threads)
            if (t.Hart == hart) return true;
        return false;
    }

    public bool IsMachine => true;

    public bool ReadMemory(Hart hart, ulong address, Span<byte> buffer) => Access(hart, address, buffer, write: false);

    public bool WriteMemory(Hart hart, ulong address, ReadOnlySpan<byte> data) => Access(hart, address, data.ToArray(), write: true);

    /// <summary>Copies page by page through the hart's translation; RAM only (device registers are not touched).</summary>
    private static bool Access(Hart hart, ulong address, Span<byte> buffer, bool write)
    {
        var saved = (hart.PendingCause, hart.PendingTval);
        try
        {
            int done = 0;
            while (done < buffer.Length)
            {
                ulong va = address + (ulong)done;
                int chunk = (int)Math.Min((ulong)(buffer.Length - done), 4096 - (va & 0xFFF));
                // Code may be execute-only: then the translation for a fetch serves.
                if (!hart.Translate(va, write ? AccessType.Write : AccessType.Read, out ulong pa, out _)
                    && !hart.Translate(va, AccessType.Execute, out pa, out _)) return false;
                if (!PhysicalAccess(hart, pa, buffer.Slice(done, chunk), write)) return false;
                done += chunk;
            }
            return true;
        }
        finally
        {
            (hart.PendingCause, hart.PendingTval) = saved;
        }
    }

    private static unsafe bool PhysicalAccess(Hart hart, ulong pa, Span<byte> buffer, bool write)
    {
        if (hart.Bus.FindRam(pa) is not { } ram || !ram.Contains(pa, (ulong)buffer.Length)) return false;
        var host = new Span<byte>(ram.HostAddress(pa), buffer.Length);
        if (!write)
        {
            host.CopyTo(buffer);
            return true;
        }
        buffer.CopyTo(host);
        ram.MarkWritten(pa, (ulong)buffer.Length);
        if (hart.Code.IsCode(pa)) hart.Code.InvalidateStore(pa, buffer.Length);
        return true;
    }

    public byte[]? AuxiliaryVector => null;

    public void Kill() => kill();

    public string? Monitor(Hart hart, string command)
    {
        var words = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length is 2 or 3 && words[0] == "phys" && TryNumber(words[1], out ulong pa))
        {
            ulong length = 64;
            if (words.Length == 3 && (!TryNumber(words[2], out length) || length > 4096)) return "phys ADDRESS [LENGTH up to 4096]\n";
            var bytes = new byte[length];
            if (!PhysicalAccess(hart, pa, bytes, write: false)) return $"0x{pa:x}: not RAM\n";
            var text = new StringBuilder();
            for (int i = 0; i < bytes.Length; i += 16)
                text.Append($"{pa + (ulong)i:x16}: {Convert.ToHexStringLower(bytes, i, Math.Min(16, bytes.Length - i))}\n");
            return text.ToString();
        }
        if (words.Length == 2 && words[0] == "translate" && TryNumber(words[1], out ulong va))
        {
            var saved = (hart.PendingCause, hart.PendingTval);
            bool ok = hart.Translate(va, AccessType.Read, out ulong to, out _);
            (hart.PendingCause, hart.PendingTval) = saved;
            return ok ? $"0x{va:x} -> 0x{to:x} (physical)\n" : $"0x{va:x}: no translation for a read at {hart.Privilege}\n";
        }
        if (words.Length >= 1 && words[0] == "snapshot")
        {
            if (snapshot is null) return "this machine has no snapshots\n";
            if (words.Length != 2) return "snapshot PATH\n";
            try
            {
                return snapshot(Path.GetFullPath(words[1])) + "\n";
            }
            catch (Exception e) when (e is Devices.State.SnapshotException or IOException or InvalidOperationException)
            {
                return $"no snapshot: {e.Message}\n";
            }
        }
        if (command is "traps" or "trap profile")
        {
            var report = TrapStatistics.Sum([hart.Statistics]);
            var text = new StringBuilder();
            foreach (var t in report.Traps) text.Append($"{t.Name,-28} {t.From} -> {t.To?.ToString() ?? "host"}: {t.Count}\n");
            return text.Length == 0 ? "no traps\n" : text.ToString();
        }
        return null;
    }

    private static bool TryNumber(string text, out ulong value) =>
        text.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? ulong.TryParse(text.AsSpan(2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value)
            : ulong.TryParse(text, CultureInfo.InvariantCulture, out value);

    public string MonitorHelp =>
        "  phys ADDR [LEN]     physical memory (RAM), LEN bytes (default 64, at most 4096); gdb's x and print read virtual memory through the hart's translation\n"
        + "  translate VADDR     the physical address the stopped hart's translation gives for a read\n"
        + "  traps               the stopped hart's trap profile\n"
        + (snapshot is null ? "" : "  snapshot PATH       save the machine, as stopped, to PATH (isomorph boot --restore PATH resumes it)\n");
}
