using System.Runtime.CompilerServices;

namespace Isomorph.Riscv;

/// <summary>
/// The hypervisor extension's virtual-machine loads and stores: memory as VS-mode (hstatus.SPVP
/// set) or VU-mode sees it, through both translation stages, from a mode that is not virtualized.
/// They take no TLB: each translates afresh (a hypervisor uses them to read a trapped instruction
/// or an SBI call's buffer, not in loops).
/// </summary>
public sealed unsafe partial class Hart
{
    private PrivilegeLevel GuestAccessPrivilege =>
        (_hstatus & HstatusBits.Spvp) != 0 ? PrivilegeLevel.Supervisor : PrivilegeLevel.User;

    /// <summary>HLV and HLVX: loads <typeparamref name="T"/> at guest virtual address <paramref name="va"/>; false with the exception pending.</summary>
    internal bool LoadAsGuest<T>(ulong va, bool executableAsReadable, out T value) where T : unmanaged
    {
        value = default;
        int size = sizeof(T);
        if (!TranslateAs(va, AccessType.Read, GuestAccessPrivilege, true, executableAsReadable, out ulong pa, out _)) return Pending();
        ulong bits;
        if ((va & 0xFFF) + (ulong)size <= 4096)
        {
            if (!ReadPhysicalValue(pa, size, out bits)) return AccessFault(ExceptionCause.LoadAccessFault, va);
        }
        else
        {
            // Straddles two pages: both are translated before any byte is read, then byte by byte.
            ulong next = (va | 0xFFF) + 1;
            if (!TranslateAs(next, AccessType.Read, GuestAccessPrivilege, true, executableAsReadable, out ulong nextPa, out _)) return Pending();
            bits = 0;
            for (int i = 0; i < size; i++)
            {
                ulong at = va + (ulong)i < next ? pa + (ulong)i : nextPa + (va + (ulong)i - next);
                if (!ReadPhysicalValue(at, 1, out ulong b)) return AccessFault(ExceptionCause.LoadAccessFault, va);
                bits |= b << (8 * i);
            }
        }
        value = Unsafe.As<ulong, T>(ref bits);
        return true;
    }

    /// <summary>HSV: stores <paramref name="value"/> at guest virtual address <paramref name="va"/>; false with the exception pending.</summary>
    internal bool StoreAsGuest<T>(ulong va, T value) where T : unmanaged
    {
        int size = sizeof(T);
        ulong bits = 0;
        Unsafe.As<ulong, T>(ref bits) = value;
        if (!TranslateAs(va, AccessType.Write, GuestAccessPrivilege, true, false, out ulong pa, out _)) return Pending();
        if ((va & 0xFFF) + (ulong)size <= 4096)
            return WritePhysicalValue(pa, size, bits) || AccessFault(ExceptionCause.StoreAccessFault, va);
        ulong next = (va | 0xFFF) + 1;
        if (!TranslateAs(next, AccessType.Write, GuestAccessPrivilege, true, false, out ulong nextPa, out _)) return Pending();
        for (int i = 0; i < size; i++)
        {
            ulong at = va + (ulong)i < next ? pa + (ulong)i : nextPa + (va + (ulong)i - next);
            if (!WritePhysicalValue(at, 1, bits >> (8 * i))) return AccessFault(ExceptionCause.StoreAccessFault, va);
        }
        return true;
    }

    private bool ReadPhysicalValue(ulong pa, int size, out ulong value)
    {
        if (!Bus.TryFindDevice(pa, out _) && Bus.FindRam(pa) is { } ram && ram.Contains(pa, (ulong)size))
        {
            byte* host = ram.HostAddress(pa);
            value = size switch
            {
                1 => *host,
                2 => Unsafe.ReadUnaligned<ushort>(host),
                4 => Unsafe.ReadUnaligned<uint>(host),
                _ => Unsafe.ReadUnaligned<ulong>(host),
            };
            return true;
        }
        return Bus.TryRead(pa, size, out value);
    }

    private bool WritePhysicalValue(ulong pa, int size, ulong value)
    {
        if (!Bus.TryFindDevice(pa, out _) && Bus.FindRam(pa) is { } ram && ram.Contains(pa, (ulong)size))
        {
            ram.MarkWritten(pa, (ulong)size);
            if (Code.IsCode(pa)) Code.InvalidateStore(pa, size);
            byte* host = ram.HostAddress(pa);
            switch (size)
            {
                case 1: *host = (byte)value; break;
                case 2: Unsafe.WriteUnaligned(host, (ushort)value); break;
                case 4: Unsafe.WriteUnaligned(host, (uint)value); break;
                default: Unsafe.WriteUnaligned(host, value); break;
            }
            return true;
        }
        return Bus.TryWrite(pa, size, value);
    }

    private bool AccessFault(ExceptionCause cause, ulong va)
    {
        SetPending(cause, va);
        return Pending();
    }

    /// <summary>A fault of a virtual-machine access: its tval is a guest virtual address (GVA), whichever mode ran it.</summary>
    private bool Pending()
    {
        PendingGuestVirtual = true;
        return false;
    }
}
