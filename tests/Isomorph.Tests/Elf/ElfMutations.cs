using System.Buffers.Binary;
using CsCheck;

namespace Isomorph.Tests.Elf;

/// <summary>One change to an ELF file, printable so a failing fuzz case reads as what was done.</summary>
public sealed record ElfMutation(string Description, Func<byte[], byte[]> Apply)
{
    public override string ToString() => Description;
}

/// <summary>
/// CsCheck generators of damaged ELF files from a good one: header fields set to values at the
/// edges (0, 2^64 - 1, the file's length, page boundaries, the task size), program header types
/// swapped, bytes of the headers changed at random, the file cut short.
/// </summary>
public static class ElfMutations
{
    private static readonly Gen<ulong> Interesting = Gen.Frequency(
        (3, Gen.OneOf(0ul, 1ul, 2ul, 8ul, 0xFFFul, 0x1000ul, 0x7FFF_FFFFul, 0x8000_0000ul, 1ul << 38, 1ul << 39, 1ul << 47,
            1ul << 63, ulong.MaxValue, ulong.MaxValue - 1, ulong.MaxValue - 7, ulong.MaxValue - 0xFFF, ulong.MaxValue - 0xFFFF)),
        (1, Gen.ULong));

    public static Gen<byte[]> Of(byte[] good) => Mutations(good).Select(list =>
    {
        var bytes = (byte[])good.Clone();
        foreach (var m in list) bytes = m.Apply(bytes);
        return bytes;
    });

    public static Gen<ElfMutation[]> Mutations(byte[] good)
    {
        int phoff = (int)BinaryPrimitives.ReadUInt64LittleEndian(good.AsSpan(32)), phnum = BinaryPrimitives.ReadUInt16LittleEndian(good.AsSpan(56));
        int headersEnd = Math.Min(good.Length, phoff + phnum * 56);
        var segmentField = Gen.Select(Gen.Int[0, phnum - 1], Gen.OneOf(8, 16, 24, 32, 40, 48), Interesting, (i, field, value) =>
            new ElfMutation($"phdr[{i}]+{field} = 0x{value:x}", b => Set64(b, phoff + i * 56 + field, value)));
        var segmentType = Gen.Select(Gen.Int[0, phnum - 1], Gen.OneOf(0u, 1u, 2u, 3u, 4u, 6u, 7u, 0x6474E551u, 0x7000_0003u), (i, type) =>
            new ElfMutation($"phdr[{i}].p_type = 0x{type:x}", b => Set32(b, phoff + i * 56, type)));
        var headerField64 = Gen.Select(Gen.OneOf(24, 32, 40), Interesting, (at, value) =>
            new ElfMutation($"ehdr+{at} = 0x{value:x}", b => Set64(b, at, value)));
        var headerField16 = Gen.Select(Gen.OneOf(16, 18, 52, 54, 56, 58, 60, 62), Gen.OneOf(Gen.OneOf<ushort>(0, 1, 2, 55, 56, 57, 64, 1170, 0xFFFF), Gen.UShort), (at, value) =>
            new ElfMutation($"ehdr+{at} = {value}", b => Set16(b, at, value)));
        var headerByte = Gen.Select(Gen.Int[0, headersEnd - 1], Gen.Byte, (at, value) =>
            new ElfMutation($"byte {at} = 0x{value:x2}", b => { if (at < b.Length) b[at] = value; return b; }));
        var anyByte = Gen.Select(Gen.Int[0, good.Length - 1], Gen.Byte, (at, value) =>
            new ElfMutation($"byte {at} = 0x{value:x2}", b => { if (at < b.Length) b[at] = value; return b; }));
        var truncate = Gen.Int[0, good.Length - 1].Select(n => new ElfMutation($"cut to {n} bytes", b => b[..Math.Min(n, b.Length)]));
        return Gen.Frequency((4, segmentField), (2, segmentType), (2, headerField64), (2, headerField16), (2, headerByte), (1, anyByte), (1, truncate))
            .Array[1, 4];
    }

    private static byte[] Set16(byte[] b, int at, ushort v) { if (at + 2 <= b.Length) BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v); return b; }
    private static byte[] Set32(byte[] b, int at, uint v) { if (at + 4 <= b.Length) BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v); return b; }
    private static byte[] Set64(byte[] b, int at, ulong v) { if (at + 8 <= b.Length) BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v); return b; }
}
