namespace Isomorph.Machines.Snapshot;

/// <summary>
/// The layout of a snapshot file, all integers little-endian:
/// <code>
/// header   "ISOMSNAP" (8 bytes), format version (u32), flags (u32, zero)
/// section  name length (u8), name (ASCII), payload length (u64), payload   ... repeated
/// trailer  XxHash3 (64-bit) of every byte before it (u64)
/// </code>
/// A machine writes its configuration first, then one section per component, named after it
/// ("hart0", "clint", "virtio1"), then RAM in one or more sections (<see cref="RamImage"/>). A reader checks the magic, the
/// version and the checksum before it restores anything, then expects the sections in order.
/// </summary>
public static class SnapshotFormat
{
    public static ReadOnlySpan<byte> Magic => "ISOMSNAP"u8;

    /// <summary>
    /// The version this build writes and the only one it reads. Any change to what a component
    /// saves is a new version (a test pins each component's state size to it).
    /// </summary>
    public const uint Version = 2;

    public const int HeaderSize = 16, ChecksumSize = 8;

    /// <summary>The largest component section a reader accepts (RAM is read in chunks, not whole).</summary>
    public const int MaxComponentSection = 16 << 20;
}
