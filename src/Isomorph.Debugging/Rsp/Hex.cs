using System.Globalization;
using System.Text;

namespace Isomorph.Debugging.Rsp;

/// <summary>The hexadecimal encodings of the remote protocol: numbers, little-endian register values and byte strings.</summary>
public static class Hex
{
    public static string Bytes(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    public static string Text(string text) => Bytes(Encoding.UTF8.GetBytes(text));

    /// <summary>A register's value as gdb expects it: its bytes in target (little-endian) order.</summary>
    public static string LittleEndian(ulong value, int size = 8)
    {
        Span<byte> b = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(b, value);
        return Bytes(b[..size]);
    }

    public static bool TryParseNumber(ReadOnlySpan<char> text, out ulong value) =>
        ulong.TryParse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value) && text.Length > 0;

    public static bool TryParseBytes(ReadOnlySpan<char> text, out byte[] bytes)
    {
        bytes = [];
        if (text.Length % 2 != 0) return false;
        try
        {
            bytes = Convert.FromHexString(text);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>A little-endian register value of up to 8 bytes.</summary>
    public static bool TryParseLittleEndian(ReadOnlySpan<char> text, out ulong value)
    {
        value = 0;
        if (!TryParseBytes(text, out var bytes) || bytes.Length is 0 or > 8) return false;
        for (int i = 0; i < bytes.Length; i++) value |= (ulong)bytes[i] << (8 * i);
        return true;
    }
}
