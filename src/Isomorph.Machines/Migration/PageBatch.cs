using System.Buffers.Binary;
using Isomorph.Devices.Bus;
using K4os.Compression.LZ4;

namespace Isomorph.Machines.Migration;

/// <summary>
/// RAM pages in a <see cref="MigrationMessage.Pages"/> message: a count (u32), then per page its
/// number in RAM (u32), its kind (u8: zero, LZ4 or raw) and, but for a zero page, a length (u16)
/// and the bytes. Pages are compressed on their own, in parallel, with LZ4's fast level (as
/// snapshots are; see <see cref="Snapshot.RamCodec"/>); a page LZ4 cannot shrink goes raw.
/// </summary>
public static unsafe class PageBatch
{
    public const int MaxPages = 256;
    private const byte Zero = 0, Lz4 = 1, Raw = 2;
    private const int PageBytes = (int)Ram.PageSize, EntryHead = 4 + 1 + 2;

    /// <summary>A reusable encoder: per-page buffers and the message being built.</summary>
    public sealed class Encoder
    {
        private readonly byte[][] _packed = new byte[MaxPages][];
        private readonly int[] _lengths = new int[MaxPages];
        private readonly byte[] _message = new byte[4 + MaxPages * (EntryHead + PageBytes)];

        /// <summary>
        /// Encodes the first <paramref name="n"/> of <paramref name="list"/> (at most <see cref="MaxPages"/>) of
        /// <paramref name="ram"/>; <paramref name="zeroPages"/> counts those sent as zero. The span is valid until the next call.
        /// </summary>
        public ReadOnlySpan<byte> Encode(Ram ram, uint[] list, int n, out int zeroPages)
        {
            if (n > MaxPages) throw new ArgumentOutOfRangeException(nameof(n));
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i =>
            {
                var page = new ReadOnlySpan<byte>(ram.Host + ((long)list[i] << Ram.PageShift), PageBytes);
                if (page.IndexOfAnyExcept((byte)0) < 0)
                {
                    _lengths[i] = 0;
                    return;
                }
                var packed = _packed[i] ??= new byte[LZ4Codec.MaximumOutputSize(PageBytes)];
                int length = LZ4Codec.Encode(page, packed, LZ4Level.L00_FAST);
                if (length <= 0 || length >= PageBytes)
                {
                    page.CopyTo(packed);
                    length = -PageBytes; // raw
                }
                _lengths[i] = length;
            });
            zeroPages = 0;
            BinaryPrimitives.WriteInt32LittleEndian(_message, n);
            int at = 4;
            for (int i = 0; i < n; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(_message.AsSpan(at), list[i]);
                int length = _lengths[i];
                if (length == 0)
                {
                    _message[at + 4] = Zero;
                    at += 5;
                    zeroPages++;
                    continue;
                }
                _message[at + 4] = length < 0 ? Raw : Lz4;
                length = Math.Abs(length);
                BinaryPrimitives.WriteUInt16LittleEndian(_message.AsSpan(at + 5), (ushort)length);
                _packed[i].AsSpan(0, length).CopyTo(_message.AsSpan(at + EntryHead));
                at += EntryHead + length;
            }
            return _message.AsSpan(0, at);
        }
    }

    /// <summary>Writes the pages of a message into <paramref name="ram"/>; returns their number. Throws <see cref="MigrationException"/> for a malformed batch.</summary>
    public static int Decode(ReadOnlySpan<byte> message, Ram ram)
    {
        ulong pages = ram.Size >> Ram.PageShift;
        if (message.Length < 4) throw Error("a pages message without its count");
        int n = BinaryPrimitives.ReadInt32LittleEndian(message);
        if (n is < 0 or > MaxPages) throw Error($"{n} pages in one message");
        int at = 4;
        for (int i = 0; i < n; i++)
        {
            if (message.Length - at < 5) throw Error("a page cut short");
            uint index = BinaryPrimitives.ReadUInt32LittleEndian(message[at..]);
            byte kind = message[at + 4];
            if (index >= pages) throw Error($"page {index} lies outside RAM ({pages} pages)");
            var target = new Span<byte>(ram.Host + ((long)index << Ram.PageShift), PageBytes);
            if (kind == Zero)
            {
                ram.Discard((ulong)index << Ram.PageShift, Ram.PageSize); // no write fault, no memory
                at += 5;
                continue;
            }
            if (message.Length - at < EntryHead) throw Error("a page cut short");
            int length = BinaryPrimitives.ReadUInt16LittleEndian(message[(at + 5)..]);
            if (message.Length - at - EntryHead < length) throw Error("a page cut short");
            var data = message.Slice(at + EntryHead, length);
            switch (kind)
            {
                case Raw when length == PageBytes:
                    data.CopyTo(target);
                    break;
                case Lz4 when LZ4Codec.Decode(data, target) == PageBytes:
                    break;
                default:
                    throw Error($"page {index} does not decode (kind {kind}, {length} bytes)");
            }
            at += EntryHead + length;
        }
        if (at != message.Length) throw Error($"{message.Length - at} bytes after the last page");
        return n;
    }

    private static MigrationException Error(string message) => new($"a damaged pages message: {message}");
}
