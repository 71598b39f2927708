using Microsoft.Win32.SafeHandles;

namespace Isomorph.Linux.Memory;

/// <summary>
/// Which pages of a host range hold data: present in RAM or swapped out, as /proc/self/pagemap
/// reports them (bits 63 and 62 of each page's entry). Pages never touched read as zero and need
/// no copy. Where pagemap cannot be read, every page counts as held.
/// </summary>
internal sealed unsafe class HostPagePresence : IDisposable
{
    private const ulong InRam = 1ul << 63, Swapped = 1ul << 62;
    private readonly SafeFileHandle? _pagemap;
    private ulong[] _entries = new ulong[512];
    private bool[] _held = new bool[512];

    public HostPagePresence()
    {
        try
        {
            _pagemap = File.OpenHandle("/proc/self/pagemap", FileMode.Open, FileAccess.Read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _pagemap = null;
        }
    }

    /// <summary>For each of <paramref name="count"/> host pages from <paramref name="start"/> (page-aligned): does it hold data?</summary>
    public ReadOnlySpan<bool> Present(byte* start, ulong count)
    {
        if ((ulong)_held.Length < count)
        {
            _held = new bool[count];
            _entries = new ulong[count];
        }
        var held = _held.AsSpan(0, (int)count);
        if (_pagemap is null)
        {
            held.Fill(true);
            return held;
        }
        var entries = _entries.AsSpan(0, (int)count);
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(entries);
        long offset = (long)((ulong)start / GuestAddressSpace.PageSize * 8);
        int read = 0;
        while (read < bytes.Length)
        {
            int n = RandomAccess.Read(_pagemap, bytes[read..], offset + read);
            if (n <= 0) break;
            read += n;
        }
        for (int i = 0; i < held.Length; i++)
            held[i] = i * 8 >= read || (entries[i] & (InRam | Swapped)) != 0;
        return held;
    }

    public void Dispose() => _pagemap?.Dispose();
}
