using Isomorph.Devices.Bus;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Clint;

/// <summary>
/// The core-local interruptor (SiFive CLINT layout, as on QEMU's spike and virt machines):
/// msip per hart at 0x0, mtimecmp per hart at 0x4000, mtime at 0xBFF8. It drives each hart's
/// machine software and timer interrupt lines through callbacks; it knows nothing of the ISA.
/// </summary>
public sealed class Clint : IMmioDevice, ISnapshotState
{
    public const ulong MsipBase = 0x0, MtimecmpBase = 0x4000, MtimeOffset = 0xBFF8;
    public const ulong DefaultSize = 0x10000;

    private readonly uint[] _msip;
    private readonly ulong[] _mtimecmp;
    private readonly Func<ulong> _time;
    private readonly Action<int, bool> _softwareInterrupt;
    private readonly Action<int, bool> _timerInterrupt;
    private ulong _timeOffset;

    /// <param name="harts">The number of harts.</param>
    /// <param name="time">The time base (ticks of mtime before any guest write to mtime).</param>
    /// <param name="softwareInterrupt">Sets or clears hart n's MSIP line.</param>
    /// <param name="timerInterrupt">Sets or clears hart n's MTIP line.</param>
    public Clint(int harts, Func<ulong> time, Action<int, bool> softwareInterrupt, Action<int, bool> timerInterrupt)
    {
        _msip = new uint[harts];
        _mtimecmp = new ulong[harts];
        Array.Fill(_mtimecmp, ulong.MaxValue);
        _time = time;
        _softwareInterrupt = softwareInterrupt;
        _timerInterrupt = timerInterrupt;
    }

    public string Name => "clint";
    public ulong Size => DefaultSize;

    public ulong Mtime => _time() + _timeOffset;

    public ulong Mtimecmp(int hart) => _mtimecmp[hart];

    /// <summary>The earliest mtimecmp of any hart (when the next timer interrupt is due).</summary>
    public ulong NextDeadline => _mtimecmp.Min();

    /// <summary>Re-evaluates the timer lines against mtime; the machine calls this as time passes.</summary>
    public void Update()
    {
        ulong now = Mtime;
        for (int h = 0; h < _mtimecmp.Length; h++) _timerInterrupt(h, now >= _mtimecmp[h]);
    }

    /// <summary>
    /// Saves msip, mtimecmp and the current mtime. A restored CLINT continues mtime from the saved
    /// value over whatever time base the new machine has, so guest time neither jumps nor goes back.
    /// </summary>
    public void Save(SnapshotWriter w)
    {
        w.WriteUInt32s(_msip);
        w.WriteUInt64s(_mtimecmp);
        w.WriteUInt64(Mtime);
    }

    public void Restore(SnapshotReader r)
    {
        r.ReadUInt32s(_msip, "harts' msip");
        r.ReadUInt64s(_mtimecmp, "harts' mtimecmp");
        ulong mtime = r.ReadUInt64();
        r.ExpectEnd();
        for (int h = 0; h < _msip.Length; h++)
        {
            _msip[h] &= 1;
            _softwareInterrupt(h, _msip[h] != 0);
        }
        _timeOffset = mtime - _time();
        Update();
    }

    /// <summary>Re-evaluates hart <paramref name="hart"/>'s timer line (for a thread that runs only some harts).</summary>
    public void Update(int hart) => _timerInterrupt(hart, Mtime >= _mtimecmp[hart]);

    public ulong Read(ulong offset, int size)
    {
        ulong word = ReadWord(offset & ~7ul, out bool ok);
        if (!ok) return 0;
        int shift = (int)(offset & 7) * 8;
        return size == 8 ? word : (word >> shift) & ((1ul << (size * 8)) - 1);
    }

    private ulong ReadWord(ulong aligned, out bool ok)
    {
        ok = true;
        if (aligned < MtimecmpBase)
        {
            int hart = (int)(aligned / 4);
            ulong lo = hart < _msip.Length ? _msip[hart] : 0;
            ulong hi = hart + 1 < _msip.Length ? _msip[hart + 1] : 0;
            return lo | hi << 32;
        }
        if (aligned < MtimeOffset)
        {
            int hart = (int)((aligned - MtimecmpBase) / 8);
            if (hart < _mtimecmp.Length) return _mtimecmp[hart];
        }
        else if (aligned == MtimeOffset) return Mtime;
        ok = false;
        return 0;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset < MtimecmpBase)
        {
            // msip registers are 32-bit; an 8-byte write covers two harts.
            for (int b = 0; b < size; b += 4)
            {
                int hart = (int)((offset + (ulong)b) / 4);
                if (hart >= _msip.Length) continue;
                _msip[hart] = (uint)(value >> (b * 8)) & 1;
                _softwareInterrupt(hart, _msip[hart] != 0);
            }
            return;
        }
        ulong aligned = offset & ~7ul;
        int shift = (int)(offset & 7) * 8;
        ulong mask = size == 8 ? ulong.MaxValue : ((1ul << (size * 8)) - 1) << shift;
        if (aligned < MtimeOffset)
        {
            int hart = (int)((aligned - MtimecmpBase) / 8);
            if (hart >= _mtimecmp.Length) return;
            _mtimecmp[hart] = (_mtimecmp[hart] & ~mask) | ((value << shift) & mask);
            _timerInterrupt(hart, Mtime >= _mtimecmp[hart]);
        }
        else if (aligned == MtimeOffset)
        {
            ulong now = (Mtime & ~mask) | ((value << shift) & mask);
            _timeOffset = now - _time();
            Update();
        }
    }
}
