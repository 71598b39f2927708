using System.Buffers.Binary;

namespace Isomorph.Devices.Virtio;

/// <summary>The device-side state of a split virtqueue, for snapshots.</summary>
public readonly record struct VirtqueueState(ushort Size, bool Ready, ulong DescriptorTable, ulong DriverArea, ulong DeviceArea,
    bool EventIndex, ushort NextAvail, ushort NextUsed, ushort SignalledUsed);

/// <summary>One guest buffer of a descriptor chain: device-readable, or device-writable.</summary>
public readonly record struct VirtqBuffer(ulong Address, uint Length, bool Writable);

/// <summary>
/// An available descriptor chain, indirect tables resolved: the device-readable buffers, then the
/// device-writable ones. Offsets in <see cref="Read"/> and <see cref="Write"/> run across the
/// readable (or writable) buffers as if they were one.
/// </summary>
public sealed class DescriptorChain(ushort head, List<VirtqBuffer> buffers)
{
    public ushort Head { get; } = head;
    public IReadOnlyList<VirtqBuffer> Buffers => buffers;
    public long ReadableLength { get; } = buffers.Where(b => !b.Writable).Sum(b => (long)b.Length);
    public long WritableLength { get; } = buffers.Where(b => b.Writable).Sum(b => (long)b.Length);

    /// <summary>Copies readable bytes from <paramref name="offset"/> into <paramref name="destination"/>; returns the count copied.</summary>
    public int Read(IGuestMemory memory, long offset, Span<byte> destination) => Copy(memory, false, offset, destination, default);

    /// <summary>Copies <paramref name="source"/> into the writable bytes at <paramref name="offset"/>; returns the count copied.</summary>
    public int Write(IGuestMemory memory, long offset, ReadOnlySpan<byte> source) => Copy(memory, true, offset, default, source);

    /// <summary>
    /// The readable bytes from <paramref name="offset"/> on, at most <paramref name="limit"/> of them
    /// (a driver may describe gigabytes: only what the device takes is copied).
    /// </summary>
    public byte[] ReadAll(IGuestMemory memory, long offset = 0, int limit = int.MaxValue)
    {
        var bytes = new byte[Math.Clamp(ReadableLength - offset, 0, Math.Min(limit, Array.MaxLength))];
        Read(memory, offset, bytes);
        return bytes;
    }

    private int Copy(IGuestMemory memory, bool writable, long offset, Span<byte> destination, ReadOnlySpan<byte> source)
    {
        int want = writable ? source.Length : destination.Length, done = 0;
        foreach (var b in buffers)
        {
            if (b.Writable != writable) continue;
            if (offset >= b.Length)
            {
                offset -= b.Length;
                continue;
            }
            int n = (int)Math.Min(b.Length - offset, want - done);
            bool ok = writable
                ? memory.Write(b.Address + (ulong)offset, source.Slice(done, n))
                : memory.Read(b.Address + (ulong)offset, destination.Slice(done, n));
            if (!ok) throw new VirtioException($"buffer at 0x{b.Address:x} ({b.Length} bytes) is not RAM");
            done += n;
            offset = 0;
            if (done == want) break;
        }
        return done;
    }
}

/// <summary>
/// A virtio 1.x split virtqueue in guest memory: the descriptor table, the available ring (driver
/// area) and the used ring (device area), with indirect descriptors and, when negotiated,
/// VIRTIO_F_EVENT_IDX notification suppression. Knows nothing of the transport or the guest ISA.
/// </summary>
public sealed class Virtqueue(IGuestMemory memory, ushort maxSize)
{
    public const ushort DescNext = 1, DescWrite = 2, DescIndirect = 4;
    public const ushort AvailNoInterrupt = 1;
    private const int DescriptorSize = 16;
    /// <summary>
    /// The most descriptors one chain may have, indirect ones included: the queue size, which the
    /// spec says a chain must not exceed, or 1,024 (QEMU's VIRTQUEUE_MAX_SIZE, which Linux's
    /// indirect tables stay within) if larger. A longer chain, however large its indirect table
    /// claims to be, puts the device in DEVICE_NEEDS_RESET.
    /// </summary>
    public int MaxChainLength => Math.Max(Size, (ushort)1024);

    private ushort _nextAvail, _nextUsed, _signalledUsed;

    public ushort MaxSize { get; } = maxSize;
    public ushort Size { get; set; } = maxSize;
    public bool Ready { get; set; }
    public ulong DescriptorTable { get; set; }
    /// <summary>The available ring (flags, idx, ring[Size], used_event).</summary>
    public ulong DriverArea { get; set; }
    /// <summary>The used ring (flags, idx, ring[Size] of (id, len), avail_event).</summary>
    public ulong DeviceArea { get; set; }
    /// <summary>VIRTIO_F_EVENT_IDX was negotiated: used_event and avail_event are in use.</summary>
    public bool EventIndex { get; set; }

    /// <summary>The used ring's index as the device last wrote it.</summary>
    public ushort UsedIndex => _nextUsed;

    /// <summary>Everything a snapshot needs to resume the queue (the rings themselves live in guest RAM).</summary>
    public VirtqueueState Save() =>
        new(Size, Ready, DescriptorTable, DriverArea, DeviceArea, EventIndex, _nextAvail, _nextUsed, _signalledUsed);

    public void Restore(VirtqueueState state)
    {
        if (state.Size == 0 || state.Size > MaxSize || (state.Size & (state.Size - 1)) != 0)
            throw new VirtioException($"a saved queue of {state.Size} entries does not fit a queue of at most {MaxSize}");
        (Size, Ready, DescriptorTable, DriverArea, DeviceArea, EventIndex) =
            (state.Size, state.Ready, state.DescriptorTable, state.DriverArea, state.DeviceArea, state.EventIndex);
        (_nextAvail, _nextUsed, _signalledUsed) = (state.NextAvail, state.NextUsed, state.SignalledUsed);
    }

    public void Reset()
    {
        Size = MaxSize;
        Ready = false;
        DescriptorTable = DriverArea = DeviceArea = 0;
        EventIndex = false;
        _nextAvail = _nextUsed = _signalledUsed = 0;
    }

    /// <summary>True when the driver has made a chain available that the device has not taken.</summary>
    public bool HasAvailable => Ready && memory.ReadUInt16(DriverArea + 2) != _nextAvail;

    /// <summary>Takes the next available descriptor chain, if any.</summary>
    public bool TryPop(out DescriptorChain chain)
    {
        chain = null!;
        if (!Ready) return false;
        ushort availIdx = memory.ReadUInt16(DriverArea + 2);
        if (availIdx == _nextAvail) return false;
        if ((ushort)(availIdx - _nextAvail) > Size) throw new VirtioException($"available index {availIdx} runs {(ushort)(availIdx - _nextAvail)} ahead of a queue of {Size}");
        ushort head = memory.ReadUInt16(DriverArea + 4 + 2ul * (ushort)(_nextAvail % Size));
        _nextAvail++;
        // Ask to be notified of the next chain made available (avail_event).
        if (EventIndex) memory.WriteUInt16(DeviceArea + 4 + 8ul * Size, _nextAvail);
        chain = Walk(head);
        return true;
    }

    /// <summary>Returns a chain to the driver with <paramref name="written"/> bytes written into its buffers.</summary>
    public void Push(DescriptorChain chain, uint written) => Push(chain.Head, written);

    public void Push(ushort head, uint written)
    {
        ulong element = DeviceArea + 4 + 8ul * (ushort)(_nextUsed % Size);
        Span<byte> e = stackalloc byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(e, head);
        BinaryPrimitives.WriteUInt32LittleEndian(e[4..], written);
        if (!memory.Write(element, e)) throw new VirtioException($"used ring at 0x{DeviceArea:x} is not RAM");
        _nextUsed++;
        Thread.MemoryBarrier(); // the element before the index
        memory.WriteUInt16(DeviceArea + 2, _nextUsed);
    }

    /// <summary>
    /// Whether the driver wants an interrupt for the chains pushed since the last call: always,
    /// unless it set VIRTQ_AVAIL_F_NO_INTERRUPT, or with event indices, when the used index passed
    /// its used_event.
    /// </summary>
    public bool NeedsInterrupt()
    {
        ushort old = _signalledUsed, now = _nextUsed;
        _signalledUsed = now;
        if (old == now) return false;
        Thread.MemoryBarrier();
        if (EventIndex)
        {
            ushort usedEvent = memory.ReadUInt16(DriverArea + 4 + 2ul * Size);
            return (ushort)(now - usedEvent - 1) < (ushort)(now - old);
        }
        return (memory.ReadUInt16(DriverArea) & AvailNoInterrupt) == 0;
    }

    private DescriptorChain Walk(ushort head)
    {
        var buffers = new List<VirtqBuffer>();
        ulong table = DescriptorTable;
        uint tableSize = Size;
        uint index = head;
        bool indirect = false;
        for (int count = 0; ; count++)
        {
            if (index >= tableSize) throw new VirtioException($"descriptor {index} lies beyond a table of {tableSize}");
            if (count >= tableSize) throw new VirtioException($"descriptor chain from {head} loops");
            ulong d = table + DescriptorSize * (ulong)index;
            ulong addr = memory.ReadUInt64(d);
            uint len = memory.ReadUInt32(d + 8);
            ushort flags = memory.ReadUInt16(d + 12), next = memory.ReadUInt16(d + 14);
            if ((flags & DescIndirect) != 0)
            {
                if (indirect) throw new VirtioException("an indirect table refers to another indirect table");
                if (len % DescriptorSize != 0 || len == 0) throw new VirtioException($"indirect table of {len} bytes");
                indirect = true;
                table = addr;
                tableSize = len / DescriptorSize;
                index = 0;
                count = -1;
                continue;
            }
            if (buffers.Count >= MaxChainLength) throw new VirtioException($"descriptor chain from {head} is longer than {MaxChainLength}");
            buffers.Add(new VirtqBuffer(addr, len, (flags & DescWrite) != 0));
            if ((flags & DescNext) == 0) break;
            index = next;
        }
        return new DescriptorChain(head, buffers);
    }
}
