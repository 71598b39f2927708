using System.Buffers.Binary;
using System.Text;

namespace Isomorph.Tests.Machines;

/// <summary>A small flattened-device-tree parser for tests: every property by its full path ("/soc/serial@10000000/reg").</summary>
public static class FdtReader
{
    public static Dictionary<string, byte[]> Parse(byte[] blob)
    {
        uint U32(int at) => BinaryPrimitives.ReadUInt32BigEndian(blob.AsSpan(at));
        Assert.Equal(0xD00DFEEDu, U32(0));
        Assert.Equal((uint)blob.Length, U32(4));
        int structOffset = (int)U32(8), stringsOffset = (int)U32(12);
        Assert.Equal(17u, U32(20));
        var props = new Dictionary<string, byte[]>();
        var path = new List<string>();
        int p = structOffset;
        while (true)
        {
            uint token = U32(p);
            p += 4;
            switch (token)
            {
                case 1:
                {
                    int end = Array.IndexOf(blob, (byte)0, p);
                    path.Add(Encoding.ASCII.GetString(blob, p, end - p));
                    p = (end + 4) & ~3;
                    break;
                }
                case 2:
                    path.RemoveAt(path.Count - 1);
                    break;
                case 3:
                {
                    int length = (int)U32(p), nameOffset = (int)U32(p + 4);
                    int nameEnd = Array.IndexOf(blob, (byte)0, stringsOffset + nameOffset);
                    string name = Encoding.ASCII.GetString(blob, stringsOffset + nameOffset, nameEnd - stringsOffset - nameOffset);
                    string nodePath = path.Count <= 1 ? "" : string.Join("/", path.Skip(1).Prepend(""));
                    props[$"{nodePath}/{name}"] = blob.AsSpan(p + 8, length).ToArray();
                    p = (p + 8 + length + 3) & ~3;
                    break;
                }
                case 4: break;
                case 9:
                    Assert.Empty(path);
                    return props;
                default:
                    throw new InvalidDataException($"bad FDT token {token} at {p - 4}");
            }
        }
    }

    public static string String(byte[] value) => Encoding.ASCII.GetString(value).TrimEnd('\0');

    public static string[] Strings(byte[] value) => Encoding.ASCII.GetString(value).TrimEnd('\0').Split('\0');

    public static uint[] Cells(byte[] value) =>
        Enumerable.Range(0, value.Length / 4).Select(i => BinaryPrimitives.ReadUInt32BigEndian(value.AsSpan(i * 4))).ToArray();
}
