using System.Runtime.InteropServices;
using System.Text;
using Isomorph.Linux.Memory;

namespace Isomorph;

/// <summary>
/// A guest process's memory, as its own accesses would see it: every read and write checks that
/// the pages are mapped with the permission the access needs, and a write tells the VM (translated
/// code of the page is dropped). Given to a <see cref="SystemCallHandler"/> and to a <see cref="LinuxSession"/>;
/// a view over the process, free to copy (a system call handler asking for it allocates nothing).
/// </summary>
public readonly unsafe struct GuestMemory
{
    private readonly GuestAddressSpace _space;

    internal GuestMemory(GuestAddressSpace space) => _space = space;

    /// <summary>Copies guest bytes from <paramref name="address"/> into <paramref name="destination"/>; false (and nothing copied) when any of them is not readable.</summary>
    public bool TryRead(ulong address, Span<byte> destination)
    {
        if (!_space.Check(address, (ulong)destination.Length, PageFlags.Read)) return false;
        _space.Span(address, destination.Length).CopyTo(destination);
        return true;
    }

    /// <summary>Copies <paramref name="source"/> to guest memory at <paramref name="address"/>; false (and nothing written) when any byte is not writable.</summary>
    public bool TryWrite(ulong address, ReadOnlySpan<byte> source)
    {
        if (!_space.Check(address, (ulong)source.Length, PageFlags.Write)) return false;
        source.CopyTo(_space.Span(address, source.Length));
        _space.NoteWritten(address, (ulong)source.Length);
        return true;
    }

    /// <summary>The <typeparamref name="T"/> at <paramref name="address"/> (little-endian, as riscv64 stores it).</summary>
    /// <exception cref="GuestMemoryException">The bytes are not all readable.</exception>
    public T Read<T>(ulong address) where T : unmanaged
    {
        T value = default;
        if (!TryRead(address, MemoryMarshal.AsBytes(new Span<T>(ref value)))) throw new GuestMemoryException(address, "read");
        return value;
    }

    /// <summary>Stores <paramref name="value"/> at <paramref name="address"/>.</summary>
    /// <exception cref="GuestMemoryException">The bytes are not all writable.</exception>
    public void Write<T>(ulong address, T value) where T : unmanaged
    {
        if (!TryWrite(address, MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)))) throw new GuestMemoryException(address, "write");
    }

    /// <summary><paramref name="length"/> bytes from <paramref name="address"/>.</summary>
    /// <exception cref="GuestMemoryException">The bytes are not all readable.</exception>
    public byte[] ReadBytes(ulong address, int length)
    {
        var bytes = new byte[length];
        if (!TryRead(address, bytes)) throw new GuestMemoryException(address, "read");
        return bytes;
    }

    /// <summary>The NUL-terminated UTF-8 string at <paramref name="address"/>.</summary>
    /// <exception cref="GuestMemoryException">It is not readable, or has no NUL within <paramref name="maxLength"/> bytes.</exception>
    public string ReadString(ulong address, int maxLength = 4096) =>
        _space.ReadCString(address, maxLength) ?? throw new GuestMemoryException(address, "read a string at");

    /// <summary>Writes <paramref name="text"/> as UTF-8 with a terminating NUL at <paramref name="address"/>.</summary>
    /// <exception cref="GuestMemoryException">The bytes are not all writable.</exception>
    public void WriteString(ulong address, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text + "\0");
        if (!TryWrite(address, bytes)) throw new GuestMemoryException(address, "write");
    }
}

/// <summary>A guest memory access the guest's own permissions do not allow. A system call handler that lets it escape answers EFAULT.</summary>
public sealed class GuestMemoryException : Exception
{
    /// <summary>The access that failed.</summary>
    public GuestMemoryException(ulong address, string access) : base($"cannot {access} guest address 0x{address:x}") => Address = address;

    /// <summary>The guest address of the access.</summary>
    public ulong Address { get; }
}
