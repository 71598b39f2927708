using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Isomorph.Devices.Bus;

namespace Isomorph.Riscv;

/// <summary>The kind of a memory access, for translation and protection checks.</summary>
public enum AccessType : byte { Read, Write, Execute }

/// <summary>
/// Guest memory access. The fast path is a direct-mapped TLB per access kind whose entries hold
/// the host address of a guest virtual page: a hit is a compare and a load. Misses, device
/// accesses, pages holding decoded code and accesses that straddle pages take the slow path,
/// which translates, checks protection and installs the entry when the page is plain RAM.
/// </summary>
public sealed unsafe partial class Hart
{
    private struct TlbEntry
    {
        /// <summary>The virtual page number, or ulong.MaxValue when empty.</summary>
        public ulong Tag;
        /// <summary>Host address minus guest virtual address, for the page.</summary>
        public nint Addend;
    }

    private const int TlbSize = 1024;
    /// <summary>The TLBs' shape, for the translator's inline lookups.</summary>
    internal const int TlbEntries = TlbSize;
    internal static readonly int TlbEntrySize = sizeof(TlbEntry);
    private readonly TlbEntry* _readTlb;
    private readonly TlbEntry* _writeTlb;

    /// <summary>The leaf level of each entry's translation (<see cref="_leafLevel"/>), for <see cref="FlushTlbPage"/>.</summary>
    private readonly byte[] _readTlbLevel = new byte[TlbSize], _writeTlbLevel = new byte[TlbSize];

    /// <summary>A virtual page number: a 64-bit address shifted right by 12 leaves 52 bits.</summary>
    private const ulong TagVpnMask = (1ul << 52) - 1;

    /// <summary>
    /// The translation context, in the tag bits above any virtual page number (bit 52 up): the
    /// privilege and virtualization mode that fetch, and the privilege, virtualization mode, SUM and
    /// MXR (mstatus's, and in V mode vsstatus's) that loads and stores are checked with. Entries of
    /// other contexts never match, so a trap or xRET — a world switch between V and HS-mode too —
    /// switches context without a flush.
    /// </summary>
    private ulong _tlbContext;

    /// <summary>Recomputes <see cref="_tlbContext"/> after the privilege, the virtualization mode, mstatus or vsstatus changed.</summary>
    private void UpdateTranslationContext()
    {
        bool dataVirtualized = EffectiveDataVirtualized;
        ulong sum = dataVirtualized ? _vsstatus & MstatusBits.Sum : _mstatus & MstatusBits.Sum;
        ulong context = (ulong)Privilege | (ulong)EffectiveDataPrivilege << 2
            | (sum != 0 ? 1ul << 4 : 0) | ((_mstatus & MstatusBits.Mxr) != 0 ? 1ul << 5 : 0)
            | (dataVirtualized && (_vsstatus & MstatusBits.Mxr) != 0 ? 1ul << 6 : 0)
            | (Virtualized ? 1ul << 7 : 0) | (dataVirtualized ? 1ul << 8 : 0);
        _tlbContext = context << 52;
    }

    /// <summary>The exception a failed access or translation reports (set by slow paths).</summary>
    public ulong PendingCause;
    public ulong PendingTval;

    /// <summary>For a guest-page fault: the guest physical address that faulted (htval/mtval2 take it shifted right by 2).</summary>
    internal ulong PendingGuestPhysical;

    /// <summary>For a guest-page fault in a VS-stage walk: the pseudoinstruction htinst/mtinst take.</summary>
    internal ulong PendingTinst;

    /// <summary>Whether <see cref="PendingTval"/> is a guest virtual address (two-stage translation): hstatus.GVA, mstatus.GVA.</summary>
    internal bool PendingGuestVirtual;

    internal void SetPending(ExceptionCause cause, ulong tval)
    {
        PendingCause = (ulong)cause;
        PendingTval = tval;
        PendingGuestPhysical = 0;
        PendingTinst = 0;
        PendingGuestVirtual = false;
    }

    /// <summary>Forgets all cached translations, in every context (after satp or PMP changes, sfence.vma).</summary>
    public void FlushTlb()
    {
        for (int i = 0; i < TlbSize; i++)
        {
            _readTlb[i].Tag = ulong.MaxValue;
            _writeTlb[i].Tag = ulong.MaxValue;
        }
        FlushFetchTlb();
    }

    /// <summary>
    /// Forgets the write TLB, so that the next store to each page takes the slow path (which marks a
    /// dirty log, and invalidates decoded code). Only from the thread that runs the hart, or while it
    /// does not run; other threads use <see cref="RequestWriteTlbFlush"/>.
    /// </summary>
    public void FlushWriteTlb()
    {
        for (int i = 0; i < TlbSize; i++) _writeTlb[i].Tag = ulong.MaxValue;
    }

    /// <summary>
    /// Forgets the cached translations of the page holding <paramref name="va"/>, in every context,
    /// as sfence.vma with an address does: entries of that page, and entries taken from a superpage
    /// that holds it (the TLBs keep 4 KiB pieces of superpages, each with its leaf level).
    /// </summary>
    public void FlushTlbPage(ulong va)
    {
        ulong vpn = (va >> 12) & TagVpnMask;
        for (int i = 0; i < TlbSize; i++)
        {
            if (Covers(_readTlb[i].Tag, _readTlbLevel[i], vpn)) _readTlb[i].Tag = ulong.MaxValue;
            if (Covers(_writeTlb[i].Tag, _writeTlbLevel[i], vpn)) _writeTlb[i].Tag = ulong.MaxValue;
        }
        FlushFetchTlbPage(vpn);
    }

    /// <summary>True when a TLB entry tagged <paramref name="tag"/>, from a leaf at <paramref name="level"/>, translates page <paramref name="vpn"/>.</summary>
    private static bool Covers(ulong tag, byte level, ulong vpn)
    {
        if (tag == ulong.MaxValue) return false;
        int shift = 9 * level;
        return ((tag & TagVpnMask) >> shift) == (vpn >> shift);
    }

    /// <summary>Loads a value at virtual address <paramref name="va"/>; false (with the exception pending) on a fault.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Load<T>(ulong va, out T value) where T : unmanaged
    {
        ulong vpn = va >> 12;
        TlbEntry* e = _readTlb + (vpn & (TlbSize - 1));
        if (e->Tag == (vpn | _tlbContext) && (va & 0xFFF) <= (ulong)(4096 - sizeof(T)))
        {
            value = Unsafe.ReadUnaligned<T>((void*)(e->Addend + (nint)va));
            return true;
        }
        return LoadSlow(va, out value);
    }

    /// <summary>Stores a value at virtual address <paramref name="va"/>; false (with the exception pending) on a fault.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Store<T>(ulong va, T value) where T : unmanaged
    {
        ulong vpn = va >> 12;
        TlbEntry* e = _writeTlb + (vpn & (TlbSize - 1));
        if (e->Tag == (vpn | _tlbContext) && (va & 0xFFF) <= (ulong)(4096 - sizeof(T)))
        {
            Unsafe.WriteUnaligned((void*)(e->Addend + (nint)va), value);
            return true;
        }
        return StoreSlow(va, value);
    }

    private bool LoadSlow<T>(ulong va, out T value) where T : unmanaged
    {
        value = default;
        int size = sizeof(T);
        if ((va & 0xFFF) > (ulong)(4096 - size))
        {
            // Straddles two pages: translate both first, so a fault leaves no partial effect.
            if (!Translate(va, AccessType.Read, out _, out _)) return false;
            if (!Translate((va | 0xFFF) + 1, AccessType.Read, out _, out _)) return false;
            ulong v = 0;
            for (int i = 0; i < size; i++)
            {
                if (!Load(va + (ulong)i, out byte b)) return false;
                v |= (ulong)b << (8 * i);
            }
            value = Unsafe.As<ulong, T>(ref v);
            return true;
        }
        if (!Translate(va, AccessType.Read, out ulong pa, out bool cacheable)) return false;
        if (_watch is not null && Watched(va, size, AccessType.Read, out bool halt))
        {
            if (halt) return false;
            cacheable = false;
        }
        if (!Bus.TryFindDevice(pa, out _) && Bus.FindRam(pa) is { } ram && ram.Contains(pa, (ulong)size))
        {
            byte* host = ram.HostAddress(pa);
            if (cacheable && Bus.IsPlainRamPage(pa & ~0xFFFul))
            {
                int slot = (int)((va >> 12) & (TlbSize - 1));
                TlbEntry* e = _readTlb + slot;
                e->Tag = (va >> 12) | _tlbContext;
                e->Addend = (nint)host - (nint)va;
                _readTlbLevel[slot] = _leafLevel;
                AllowDirect(va, DirectMemory.Load);
            }
            value = Unsafe.ReadUnaligned<T>(host);
            return true;
        }
        if (Bus.TryRead(pa, size, out ulong raw))
        {
            value = Unsafe.As<ulong, T>(ref raw);
            return true;
        }
        SetPending(ExceptionCause.LoadAccessFault, va);
        return false;
    }

    private bool StoreSlow<T>(ulong va, T value) where T : unmanaged
    {
        int size = sizeof(T);
        if ((va & 0xFFF) > (ulong)(4096 - size))
        {
            if (!Translate(va, AccessType.Write, out _, out _)) return false;
            if (!Translate((va | 0xFFF) + 1, AccessType.Write, out _, out _)) return false;
            ulong v = 0;
            Unsafe.As<ulong, T>(ref v) = value;
            for (int i = 0; i < size; i++)
                if (!Store(va + (ulong)i, (byte)(v >> (8 * i)))) return false;
            return true;
        }
        if (!Translate(va, AccessType.Write, out ulong pa, out bool cacheable)) return false;
        if (_watch is not null && Watched(va, size, AccessType.Write, out bool halt))
        {
            if (halt) return false;
            cacheable = false;
        }
        if (!Bus.TryFindDevice(pa, out _) && Bus.FindRam(pa) is { } ram && ram.Contains(pa, (ulong)size))
        {
            byte* host = ram.HostAddress(pa);
            ram.MarkWritten(pa, (ulong)size); // also when the page enters the write TLB: later stores through it are not marked
            bool code = Code.IsCode(pa);
            if (!code && cacheable && Bus.IsPlainRamPage(pa & ~0xFFFul))
            {
                int slot = (int)((va >> 12) & (TlbSize - 1));
                TlbEntry* e = _writeTlb + slot;
                e->Tag = (va >> 12) | _tlbContext;
                e->Addend = (nint)host - (nint)va;
                _writeTlbLevel[slot] = _leafLevel;
                AllowDirect(va, DirectMemory.Store);
            }
            Unsafe.WriteUnaligned(host, value);
            // After the bytes land: another hart decoding the page meanwhile either read the new
            // bytes or sees the reset (CodeCache.DecodeSlot), so its old decode is not kept.
            if (code) Code.InvalidateStore(pa, size);
            return true;
        }
        ulong raw = 0;
        Unsafe.As<ulong, T>(ref raw) = value;
        if (Bus.TryWrite(pa, size, raw)) return true;
        SetPending(ExceptionCause.StoreAccessFault, va);
        return false;
    }

    /// <summary>
    /// The host address of an aligned location for an atomic read-modify-write (AMO, SC), checked
    /// for write permission. Null with the exception pending on a fault (misaligned: store/AMO
    /// address misaligned; device memory: store/AMO access fault).
    /// </summary>
    public void* AtomicAddress(ulong va, int size)
    {
        if ((va & (ulong)(size - 1)) != 0)
        {
            SetPending(ExceptionCause.StoreAddressMisaligned, va);
            return null;
        }
        // A page in the write TLB is plain, writable RAM without decoded code: the AMO needs nothing else.
        ulong vpn = va >> 12;
        TlbEntry* e = _writeTlb + (vpn & (TlbSize - 1));
        if (e->Tag == (vpn | _tlbContext)) return (void*)(e->Addend + (nint)va);
        if (!Translate(va, AccessType.Write, out ulong pa, out bool cacheable)) return null;
        if (_watch is not null && Watched(va, size, AccessType.Write, out bool halt))
        {
            if (halt) return null;
            cacheable = false;
        }
        if (Bus.FindRam(pa) is not { } ram || !ram.Contains(pa, (ulong)size) || Bus.TryFindDevice(pa, out _))
        {
            SetPending(ExceptionCause.StoreAccessFault, va);
            return null;
        }
        byte* host = ram.HostAddress(pa);
        ram.MarkWritten(pa, (ulong)size);
        if (Code.IsCode(pa))
            Code.InvalidateStore(pa, size);
        else if (cacheable && Bus.IsPlainRamPage(pa & ~0xFFFul))
        {
            // As a store's slow path does: the page enters the write TLB.
            e->Tag = vpn | _tlbContext;
            e->Addend = (nint)host - (nint)va;
            _writeTlbLevel[vpn & (TlbSize - 1)] = _leafLevel;
            AllowDirect(va, DirectMemory.Store);
        }
        return host;
    }

    /// <summary>Copies guest physical RAM out (for loaders, signatures, tests).</summary>
    public bool ReadPhysical(ulong pa, Span<byte> destination)
    {
        if (Bus.FindRam(pa) is not { } ram || !ram.Contains(pa, (ulong)destination.Length)) return false;
        new ReadOnlySpan<byte>(ram.HostAddress(pa), destination.Length).CopyTo(destination);
        return true;
    }
}
