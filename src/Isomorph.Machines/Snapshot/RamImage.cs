using System.Buffers.Binary;
using Isomorph.Devices.Bus;
using Isomorph.Devices.State;
using K4os.Compression.LZ4;
using ZstdSharp;

namespace Isomorph.Machines.Snapshot;

/// <summary>How RAM chunks are compressed in a snapshot.</summary>
public enum RamCodec : byte
{
    Zstd = 1,
    Lz4 = 2,
}

/// <summary>
/// Guest RAM in a snapshot, sparse and compressed: only pages holding a non-zero byte are stored,
/// as runs of consecutive pages cut into chunks of at most <see cref="ChunkPages"/> pages, each
/// compressed on its own (so chunks compress in parallel). The section's payload:
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

    /// <summary>The codec snapshots are written with (see the measurements in docs/snapshots.md).</summary>
    public static RamCodec DefaultCodec { get; set; } = RamCodec.Zstd;

    /// <summary>zstd's level: 1 is its fastest, and RAM compresses well at it.</summary>
    public const int ZstdLevel = 1;

    /// <summary>Writes <paramref name="ram"/> as the RAM section.</summary>
    public static void Write(SnapshotFileWriter writer, Ram ram, RamCodec codec)
    {
        var chunks = NonZeroChunks(ram);
        var compressed = new byte[chunks.Count][];
        Parallel.For(0, chunks.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            () => new ChunkCodec(codec),
            (i, _, state) =>
            {
                var (page, count) = chunks[i];
                compressed[i] = state.Compress(new ReadOnlySpan<byte>(ram.Host + (page << Ram.PageShift), count << Ram.PageShift));
                return state;
            },
            state => state.Dispose());

        long length = 8 + 1 + 4 + compressed.Sum(c => 16L + c.Length);
        writer.BeginSection(SectionName, length);
        Span<byte> head = stackalloc byte[16];
        BinaryPrimitives.WriteUInt64LittleEndian(head, ram.Size);
        head[8] = (byte)codec;
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
        if (codec is not (RamCodec.Zstd or RamCodec.Lz4)) throw Error($"unknown codec {head[8]}");
        int chunks = BinaryPrimitives.ReadInt32LittleEndian(head[9..]);
        ulong pages = ram.Size >> Ram.PageShift;
        if (chunks < 0 || (ulong)chunks > pages) throw Error($"{chunks} chunks");

        using var state = new ChunkCodec(codec);
        var buffer = new byte[state.CompressBound(ChunkBytes)];
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
            if (!state.TryDecompress(buffer.AsSpan(0, packed), target)) throw Error($"chunk {i} does not decompress to {count} pages");
        }
        if (left != 0) throw Error($"{left} bytes left over");

        static SnapshotException Error(string message) => new($"section '{SectionName}': {message}");
    }

    /// <summary>One thread's compressor and decompressor for a codec.</summary>
    private sealed class ChunkCodec(RamCodec codec) : IDisposable
    {
        private Compressor? _zstd;
        private Decompressor? _unzstd;
        private byte[] _scratch = [];

        public int CompressBound(int length) => codec == RamCodec.Zstd ? Compressor.GetCompressBound(length) : LZ4Codec.MaximumOutputSize(length);

        public byte[] Compress(ReadOnlySpan<byte> data)
        {
            int bound = CompressBound(data.Length);
            if (_scratch.Length < bound) _scratch = new byte[bound];
            int n = codec == RamCodec.Zstd
                ? (_zstd ??= new Compressor(ZstdLevel)).Wrap(data, _scratch)
                : LZ4Codec.Encode(data, _scratch, LZ4Level.L00_FAST);
            return _scratch.AsSpan(0, n).ToArray();
        }

        public bool TryDecompress(ReadOnlySpan<byte> packed, Span<byte> target)
        {
            try
            {
                int n = codec == RamCodec.Zstd
                    ? (_unzstd ??= new Decompressor()).Unwrap(packed, target)
                    : LZ4Codec.Decode(packed, target);
                return n == target.Length;
            }
            catch (ZstdException)
            {
                return false;
            }
        }

        public void Dispose()
        {
            _zstd?.Dispose();
            _unzstd?.Dispose();
        }
    }
}
