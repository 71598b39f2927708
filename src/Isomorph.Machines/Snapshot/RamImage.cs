using System.Buffers.Binary;
using Isomorph.Devices.Bus;
using Isomorph.Devices.State;
using K4os.Compression.LZ4;

namespace Isomorph.Machines.Snapshot;

/// <summary>
/// How RAM chunks are compressed in a snapshot. LZ4 (K4os, fast level) rather than zstd
/// (ZstdSharp, level 1): on a booted Linux guest holding 44 MiB of files, LZ4 saved in 280-300 ms
/// and restored in 85-110 ms against zstd's 330-350 ms and 215 ms (1050 ms and 430 ms in a fresh
/// process, as <c>boot --restore</c> is), for files 11% larger (43.2 MB against 38.8 MB).
/// </summary>
public enum RamCodec : byte
{
    Lz4 = 2,
}

/// <summary>
/// Guest RAM in a snapshot, sparse and compressed: only pages holding a non-zero byte are stored,
/// as runs of consecutive pages cut into chunks of at most <see cref="ChunkPages"/> pages, each
/// compressed with LZ4 on its own (so chunks compress in parallel). The section's payload:
/// <code>
/// RAM size (u64), codec (u8), chunk count (u32),
/// per chunk: first page (u64, from RAM base), page count (u32), compressed length (u32), compressed bytes
/// </code>
/// A restored machine's RAM starts zero-filled and untouched, so the pages left out cost nothing.
/// </summary>
public static unsafe class RamImage
{
    public const string SectionName = "ram";
    public const int ChunkPages = 256;
    private const int ChunkBytes = ChunkPages << Ram.PageShift;

    /// <summary>Writes <paramref name="ram"/> as the RAM section.</summary>
    public static void Write(SnapshotFileWriter writer, Ram ram)
    {
        var chunks = NonZeroChunks(ram);
        var compressed = new byte[chunks.Count][];
        Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => new ChunkCompressor(),
            (i, _, state) =>
            {
                var (page, count) = chunks[i];
                compressed[i] = state.Compress(new ReadOnlySpan<byte>(ram.Host + (page << Ram.PageShift), count << Ram.PageShift));
                return state;
            },
            _ => { });

        long length = 8 + 1 + 4 + compressed.Sum(c => 16L + c.Length);
        writer.BeginSection(SectionName, length);
        Span<byte> head = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(head, ram.Size);
        head[8] = (byte)RamCodec.Lz4;
        BinaryPrimitives.WriteInt32LittleEndian(head[9..], chunks.Count);
        writer.WritePayload(head[..13]);
        for (int i = 0; i < chunks.Count; i++)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(head, chunks[i].Page);
            BinaryPrimitives.WriteInt32LittleEndian(head[8..], chunks[i].Count);
            BinaryPrimitives.WriteInt32LittleEndian(head[12..], compressed[i].Length);
            writer.WritePayload(head);
            writer.WritePayload(compressed[i]);
        }
    }

    /// <summary>Runs of pages with a non-zero byte, cut at <see cref="ChunkPages"/>.</summary>
    private static List<(ulong Page, int Count)> NonZeroChunks(Ram ram)
    {
        var chunks = new List<(ulong Page, int Count)>();
        ulong pages = ram.Size >> Ram.PageShift;
        ulong start = 0;
        int count = 0;
        for (ulong p = 0; p < pages; p++)
        {
            bool used = new ReadOnlySpan<byte>(ram.Host + (p << Ram.PageShift), (int)Ram.PageSize).IndexOfAnyExcept((byte)0) >= 0;
            if (used && count > 0 && count < ChunkPages)
            {
                count++;
                continue;
            }
            if (count > 0) chunks.Add((start, count));
            (start, count) = used ? (p, 1) : (0ul, 0);
        }
        if (count > 0) chunks.Add((start, count));
        return chunks;
    }

    /// <summary>Reads the RAM section into <paramref name="ram"/>, which must be zero-filled and of the saved size.</summary>
    public static void Read(SnapshotFileReader reader, Ram ram)
    {
        long length = reader.BeginSection(SectionName, long.MaxValue);
        Span<byte> head = stackalloc byte[16];
        if (length < 13) throw Error($"{length} bytes is too short");
        reader.ReadPayload(head[..13]);
        long left = length - 13;
        ulong size = BinaryPrimitives.ReadUInt64LittleEndian(head);
        if (size != ram.Size) throw Error($"{size} bytes of RAM saved, the machine has {ram.Size}");
        var codec = (RamCodec)head[8];
        if (codec is not RamCodec.Lz4) throw Error($"unknown codec {head[8]}");
        int chunks = BinaryPrimitives.ReadInt32LittleEndian(head[9..]);
        ulong pages = ram.Size >> Ram.PageShift;
        if (chunks < 0 || (ulong)chunks > pages) throw Error($"{chunks} chunks");

        var buffer = new byte[LZ4Codec.MaximumOutputSize(ChunkBytes)];
        for (int i = 0; i < chunks; i++)
        {
            if (left < 16) throw Error("truncated chunk list");
            reader.ReadPayload(head);
            left -= 16;
            ulong page = BinaryPrimitives.ReadUInt64LittleEndian(head);
            int count = BinaryPrimitives.ReadInt32LittleEndian(head[8..]);
            int packed = BinaryPrimitives.ReadInt32LittleEndian(head[12..]);
            if (count is < 1 or > ChunkPages || page >= pages || (ulong)count > pages - page)
                throw Error($"chunk {i}: pages {page}+{count} lie outside RAM");
            if (packed < 0 || packed > buffer.Length || packed > left) throw Error($"chunk {i}: {packed} compressed bytes");
            reader.ReadPayload(buffer.AsSpan(0, packed));
            left -= packed;
            var target = new Span<byte>(ram.Host + (page << Ram.PageShift), count << Ram.PageShift);
            if (LZ4Codec.Decode(buffer.AsSpan(0, packed), target) != target.Length) throw Error($"chunk {i} does not decompress to {count} pages");
        }
        if (left != 0) throw Error($"{left} bytes left over");

        static SnapshotException Error(string message) => new($"section '{SectionName}': {message}");
    }

    /// <summary>One thread's LZ4 compressor: a buffer reused from chunk to chunk.</summary>
    private sealed class ChunkCompressor
    {
        private readonly byte[] _scratch = new byte[LZ4Codec.MaximumOutputSize(ChunkBytes)];

        public byte[] Compress(ReadOnlySpan<byte> data) =>
            _scratch.AsSpan(0, LZ4Codec.Encode(data, _scratch, LZ4Level.L00_FAST)).ToArray();
    }
}
