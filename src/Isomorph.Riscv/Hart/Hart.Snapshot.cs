using Isomorph.Devices.State;

namespace Isomorph.Riscv;

/// <summary>
/// The hart's architectural state for snapshots: pc, privilege, x and f registers, fcsr, every
/// CSR's storage, PMP, the interrupt-pending bits, the LR/SC reservation, the counters and WFI.
/// TLBs and decoded code are caches: never saved, flushed on restore.
/// </summary>
public sealed unsafe partial class Hart : ISnapshotState
{
    public void Save(SnapshotWriter w)
    {
        w.WriteUInt64(HartId);
        w.WriteUInt64(Pc);
        w.WriteByte((byte)Privilege);
        for (int i = 1; i < 32; i++) w.WriteUInt64(X[i]);
        for (int i = 0; i < 32; i++) w.WriteUInt64(F[i]);
        w.WriteUInt32(FpFlags);
        w.WriteUInt32(Frm);
        foreach (ulong csr in (ReadOnlySpan<ulong>)[
            _mstatus, _medeleg, _mideleg, _mie, _mip, Volatile.Read(ref _mipExternal), _mtvec, _mscratch, _mepc, _mcause, _mtval,
            _mcounteren, _scounteren, _menvcfg, _senvcfg, _mcountinhibit,
            _stvec, _sscratch, _sepc, _scause, _stval, _satp])
            w.WriteUInt64(csr);
        w.WriteInt64(_cycleOffset);
        w.WriteInt64(_instretOffset);
        w.WriteBytes(_pmpcfg);
        w.WriteUInt64s(_pmpaddr);
        w.WriteUInt64(_reservedAddress);
        w.WriteUInt64(_reservedValue);
        w.WriteInt32(_reservedSize);
        w.WriteInt64(Instret);
        w.WriteInt64(ExceptionsTaken);
        w.WriteBool(WaitingForInterrupt);
    }

    public void Restore(SnapshotReader r)
    {
        ulong id = r.ReadUInt64();
        if (id != HartId) throw r.Error($"saved for hart {id}, restored into hart {HartId}");
        Pc = r.ReadUInt64();
        byte privilege = r.ReadByte();
        if (privilege is not (0 or 1 or 3)) throw r.Error($"privilege level {privilege} does not exist");
        Privilege = (PrivilegeLevel)privilege;
        for (int i = 1; i < 32; i++) X[i] = r.ReadUInt64();
        for (int i = 0; i < 32; i++) F[i] = r.ReadUInt64();
        FpFlags = r.ReadUInt32() & 0x1F;
        Frm = r.ReadUInt32() & 7;
        _mstatus = r.ReadUInt64();
        _medeleg = r.ReadUInt64();
        _mideleg = r.ReadUInt64();
        _mie = r.ReadUInt64();
        _mip = r.ReadUInt64();
        Volatile.Write(ref _mipExternal, r.ReadUInt64());
        _mtvec = r.ReadUInt64();
        _mscratch = r.ReadUInt64();
        _mepc = r.ReadUInt64();
        _mcause = r.ReadUInt64();
        _mtval = r.ReadUInt64();
        _mcounteren = r.ReadUInt64();
        _scounteren = r.ReadUInt64();
        _menvcfg = r.ReadUInt64();
        _senvcfg = r.ReadUInt64();
        _mcountinhibit = r.ReadUInt64();
        _stvec = r.ReadUInt64();
        _sscratch = r.ReadUInt64();
        _sepc = r.ReadUInt64();
        _scause = r.ReadUInt64();
        _stval = r.ReadUInt64();
        _satp = r.ReadUInt64();
        _cycleOffset = r.ReadInt64();
        _instretOffset = r.ReadInt64();
        var pmpcfg = r.ReadBytes(PmpEntries);
        if (pmpcfg.Length != PmpEntries) throw r.Error($"{pmpcfg.Length} PMP entries saved, this hart has {PmpEntries}");
        pmpcfg.CopyTo(_pmpcfg, 0);
        r.ReadUInt64s(_pmpaddr, "PMP address registers");
        _reservedAddress = r.ReadUInt64();
        _reservedValue = r.ReadUInt64();
        _reservedSize = r.ReadInt32();
        Instret = r.ReadInt64();
        ExceptionsTaken = r.ReadInt64();
        WaitingForInterrupt = r.ReadBool();
        r.ExpectEnd();

        // The caches follow the new state: nothing translated or decoded before survives.
        CurrentPage = null;
        Interlocked.Exchange(ref _pendingFlush, 0);
        PmpChanged(); // recomputes whether PMP is in use and flushes every TLB
        UpdateTranslationContext();
        RequestInterruptCheck();
    }
}
