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
        w.WriteBool(Virtualized);
        for (int i = 1; i < 32; i++) w.WriteUInt64(X[i]);
        for (int i = 0; i < 32; i++) w.WriteUInt64(F[i]);
        w.WriteUInt32(FpFlags);
        w.WriteUInt32(Frm);
        // Every CSR whose definition has storage, by number: a CSR added to the table is saved with no change here.
        var saved = CsrTable.All.Where(c => c.Saved && Implements(c)).ToArray();
        w.WriteInt32(saved.Length);
        foreach (var csr in saved)
        {
            w.WriteUInt16((ushort)csr.Number);
            w.WriteUInt64(csr.Storage!(this));
        }
        w.WriteUInt64(Volatile.Read(ref _mipExternal));
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
        ResetCsrs(); // a CSR the snapshot does not hold starts as at reset
        Pc = r.ReadUInt64();
        byte privilege = r.ReadByte();
        if (privilege is not (0 or 1 or 3)) throw r.Error($"privilege level {privilege} does not exist");
        Privilege = (PrivilegeLevel)privilege;
        bool virtualized = r.ReadBool();
        if (virtualized && (!HasHypervisor || Privilege == PrivilegeLevel.Machine))
            throw r.Error(HasHypervisor ? "V mode in M-mode" : "saved in V mode, restored into a hart without the hypervisor extension");
        Virtualized = virtualized;
        for (int i = 1; i < 32; i++) X[i] = r.ReadUInt64();
        for (int i = 0; i < 32; i++) F[i] = r.ReadUInt64();
        FpFlags = r.ReadUInt32() & 0x1F;
        Frm = r.ReadUInt32() & 7;
        int count = r.ReadInt32();
        if (count is < 0 or > 4096) throw r.Error($"{count} CSRs saved");
        for (int n = 0; n < count; n++)
        {
            int number = r.ReadUInt16();
            if (Find(number) is not { Saved: true } csr)
                throw r.Error($"CSR 0x{number:x3} saved, which this hart does not keep");
            csr.Storage!(this) = r.ReadUInt64();
        }
        Volatile.Write(ref _mipExternal, r.ReadUInt64());
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
        UpdateFloatingPointGate();
        RequestInterruptCheck();
    }
}
