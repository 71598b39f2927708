using System.Buffers.Binary;
using Isomorph.Devices.Bus;

namespace Isomorph.Devices.Virtio;

/// <summary>
/// Guest physical memory as a device doing DMA sees it: byte ranges read and written by guest
/// physical address. Nothing here knows the guest ISA; a machine with decoded-code caches
/// invalidates them in its implementation of <see cref="Write"/>.
/// </summary>
public interface IGuestMemory
{
    /// <summary>Copies guest memory at <paramref name="address"/> into <paramref name="destination"/>; false when the range is not RAM.</summary>
    bool Read(ulong address, Span<byte> destination);

    /// <summary>Copies <paramref name="source"/> into guest memory at <paramref name="address"/>; false when the range is not RAM.</summary>
    bool Write(ulong address, ReadOnlySpan<byte> source);
}

/// <summary>A descriptor or ring that lies outside guest RAM, or a malformed chain: the device needs a reset.</summary>
public sealed class VirtioException(string message) : Exception(message);

/// <summary>Little-endian fixed-size access to guest memory, throwing on addresses outside RAM.</summary>
public static class GuestMemoryExtensions
{
    public static ushort ReadUInt16(this IGuestMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[2];
        Check(memory.Read(address, b), address);
        return BinaryPrimitives.ReadUInt16LittleEndian(b);
    }

    public static uint ReadUInt32(this IGuestMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[4];
        Check(memory.Read(address, b), address);
        return BinaryPrimitives.ReadUInt32LittleEndian(b);
    }

    public static ulong ReadUInt64(this IGuestMemory memory, ulong address)
    {
        Span<byte> b = stackalloc byte[8];
        Check(memory.Read(address, b), address);
        return BinaryPrimitives.ReadUInt64LittleEndian(b);
    }

    public static void WriteUInt16(this IGuestMemory memory, ulong address, ushort value)
    {
        Span<byte> b = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(b, value);
        Check(memory.Write(address, b), address);
    }

    public static void WriteUInt32(this IGuestMemory memory, ulong address, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, value);
        Check(memory.Write(address, b), address);
    }

    private static void Check(bool ok, ulong address)
    {
        if (!ok) throw new VirtioException($"guest address 0x{address:x} is not RAM");
    }
}

/// <summary>
/// Guest memory over the RAM regions of a <see cref="PhysicalBus"/>. <paramref name="written"/> is
/// told of every range written (a machine with decoded code invalidates it there).
/// </summary>
public sealed unsafe class BusGuestMemory(PhysicalBus bus, Action<ulong, int>? written = null) : IGuestMemory
{
    public bool Read(ulong address, Span<byte> destination)
    {
        if (bus.FindRam(address) is not { } ram || !ram.Contains(address, (ulong)destination.Length)) return false;
        new ReadOnlySpan<byte>(ram.HostAddress(address), destination.Length).CopyTo(destination);
        return true;
    }

    public bool Write(ulong address, ReadOnlySpan<byte> source)
    {
        if (bus.FindRam(address) is not { } ram || !ram.Contains(address, (ulong)source.Length)) return false;
        source.CopyTo(new Span<byte>(ram.HostAddress(address), source.Length));
        ram.MarkWritten(address, (ulong)source.Length); // after the copy: a collection in between sends the page again
        if (source.Length > 0) written?.Invoke(address, source.Length);
        return true;
    }
}
