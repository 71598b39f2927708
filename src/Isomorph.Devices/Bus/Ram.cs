using System.Runtime.InteropServices;

namespace Isomorph.Devices.Bus;

/// <summary>
/// Guest RAM: one contiguous, zero-filled host allocation. Untouched pages cost the host nothing
/// (large zeroed allocations are backed lazily by the host OS).
/// </summary>
public sealed unsafe class Ram : IDisposable
{
    public const int PageShift = 12;
    public const ulong PageSize = 1ul << PageShift;

    public ulong Base { get; }
    public ulong Size { get; }
    public byte* Host { get; private set; }

    public Ram(ulong @base, ulong size)
    {
        if (size == 0 || (size & (PageSize - 1)) != 0)
            throw new ArgumentException($"RAM size must be a non-zero multiple of {PageSize} bytes", nameof(size));
        Base = @base;
        Size = size;
        try
        {
            Host = (byte*)NativeMemory.AllocZeroed((nuint)size);
        }
        catch (OutOfMemoryException)
        {
            throw new InsufficientMemoryException($"cannot reserve {size >> 20} MiB of guest RAM on this host");
        }
    }

    /// <summary>
    /// RAM over host memory that someone else owns and frees (a process VM's reserved address
    /// space); <paramref name="host"/> must stay valid for <paramref name="size"/> bytes.
    /// </summary>
    public Ram(ulong @base, ulong size, byte* host)
    {
        if (size == 0 || (size & (PageSize - 1)) != 0)
            throw new ArgumentException($"RAM size must be a non-zero multiple of {PageSize} bytes", nameof(size));
        Base = @base;
        Size = size;
        Host = host;
        _borrowed = true;
    }

    private readonly bool _borrowed;

    public ulong End => Base + Size;

    public bool Contains(ulong address) => address - Base < Size;

    /// <summary>True when [address, address + length) lies inside this RAM.</summary>
    public bool Contains(ulong address, ulong length) => address - Base < Size && length <= Size - (address - Base);

    /// <summary>The host address of a guest physical address that <see cref="Contains(ulong)"/>.</summary>
    public byte* HostAddress(ulong address) => Host + (address - Base);

    public Span<byte> Span(ulong address, int length)
    {
        if (!Contains(address, (ulong)length)) throw new ArgumentOutOfRangeException(nameof(address));
        return new Span<byte>(HostAddress(address), length);
    }

    public void Dispose()
    {
        if (Host != null && !_borrowed) NativeMemory.Free(Host);
        Host = null;
    }
}
