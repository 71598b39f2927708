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
/// compressed with LZ4 on its own, so that chunks compress and decompress in parallel. The chunks
/// go in batches of at most <see cref="BatchChunks"/>, one section each (so neither side holds
/// more than a batch in memory), until the end of the file. Each section's payload:
/// <code>
/// RAM size (u64), codec (u8), chunk count (u32),
/// per chunk: first page (u64, from RAM base), page count (u32), compressed length (u32), compressed bytes
/// </code>
/// A restored machine's RAM starts zero-filled and untouched, so the pages left out cost nothing.
/// </summary>
public static unsafe class RamImage
{
    public const string SectionName = "ram";
    public const int ChunkPages = 256, BatchChunks = 64;
    private const int ChunkBytes = ChunkPages << Ram.PageShift, BatchHeader = 13, ChunkHeader = 16;
    private static readonly int MaxPacked = LZ4Codec.MaximumOutputSize(ChunkBytes);
    private static readonly long MaxSection = BatchHeader + (long)BatchChunks * (ChunkHeader + MaxPacked);

    private static ParallelOptions Parallelism => new() { MaxDegreeOfParallelism = Environment.ProcessorCount };

    /// <summary>Writes <paramref name="ram"/> as RAM sections (at least one, to record the size).</summary>
    public static void Write(SnapshotStreamWriter writer, Ram ram)
    {
        var chunks = NonZeroChunks(ram);
        var buffers = new byte[Math.Min(BatchChunks, chunks.Count)][];
        var lengths = new int[buffers.Length];
        Span<byte> head = stackalloc byte[ChunkHeader];
        for (int first = 0; first == 0 || first < chunks.Count; first += BatchChunks)
        {
            int n = Math.Min(BatchChunks, chunks.Count - first);
            Parallel.For(0, n, Parallelism, i =>
            {
                var (page, count) = chunks[first + i];
                var packed = buffers[i] ??= new byte[MaxPacked];
                lengths[i] = LZ4Codec.Encode(new ReadOnlySpan<byte>(ram.Host + (page << Ram.PageShift), count << Ram.PageShift), packed, LZ4Level.L00_FAST);
                if (lengths[i] < 0) throw new InvalidOperationException("LZ4 could not compress a RAM chunk");
            });

            long length = BatchHeader;
            for (int i = 0; i < n; i++) length += ChunkHeader + lengths[i];
            writer.BeginSection(SectionName, length);
            BinaryPrimitives.WriteUInt64LittleEndian(head, ram.Size);
            head[8] = (byte)RamCodec.Lz4;
            BinaryPrimitives.WriteInt32LittleEndian(head[9..], n);
            writer.WritePayload(head[..BatchHeader]);
            for (int i = 0; i < n; i++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(head, chunks[first + i].Page);
                BinaryPrimitives.WriteInt32LittleEndian(head[8..], chunks[first + i].Count);
                BinaryPrimitives.WriteInt32LittleEndian(head[12..], lengths[i]);
                writer.WritePayload(head);
                writer.WritePayload(buffers[i].AsSpan(0, lengths[i]));
            }
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

    /// <summary>Reads the RAM sections, up to the end of the file, into <paramref name="ram"/>, which must be zero-filled and of the saved size.</summary>
    public static void Read(SnapshotStreamReader reader, Ram ram)
    {
        byte[] batch = [];
        var chunks = new (ulong Page, int Count, int Offset, int Packed)[BatchChunks];
        do
        {
            long length = reader.BeginSection(SectionName, MaxSection);
            if (length < BatchHeader) throw Error($"{length} bytes is too short");
            if (batch.Length < length) batch = new byte[length];
            reader.ReadPayload(batch.AsSpan(0, (int)length));
            var data = batch.AsSpan(0, (int)length);

            ulong size = BinaryPrimitives.ReadUInt64LittleEndian(data);
            if (size != ram.Size) throw Error($"{size} bytes of RAM saved, the machine has {ram.Size}");
            if (data[8] != (byte)RamCodec.Lz4) throw Error($"unknown codec {data[8]}");
            int n = BinaryPrimitives.ReadInt32LittleEndian(data[9..]);
            if (n < 0 || n > BatchChunks) throw Error($"{n} chunks in a batch");
            ulong pages = ram.Size >> Ram.PageShift;
            int at = BatchHeader;
            for (int i = 0; i < n; i++)
            {
                if (data.Length - at < ChunkHeader) throw Error("truncated chunk list");
                ulong page = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
                int count = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 8)..]);
                int packed = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 12)..]);
                at += ChunkHeader;
                if (count is < 1 or > ChunkPages || page >= pages || (ulong)count > pages - page)
                    throw Error($"chunk {i}: pages {page}+{count} lie outside RAM");
                if (packed < 0 || packed > data.Length - at) throw Error($"chunk {i}: {packed} compressed bytes");
                chunks[i] = (page, count, at, packed);
                at += packed;
            }
            if (at != data.Length) throw Error($"{data.Length - at} bytes left over");

            int failed = -1;
            Parallel.For(0, n, Parallelism, i =>
            {
                var (page, count, offset, packed) = chunks[i];
                var target = new Span<byte>(ram.Host + (page << Ram.PageShift), count << Ram.PageShift);
                if (LZ4Codec.Decode(batch.AsSpan(offset, packed), target) != target.Length) failed = i;
            });
            if (failed >= 0) throw Error($"chunk {failed} does not decompress to {chunks[failed].Count} pages");
        }
        while (!reader.AtEnd);

        static SnapshotException Error(string message) => new($"section '{SectionName}': {message}");
    }
}
