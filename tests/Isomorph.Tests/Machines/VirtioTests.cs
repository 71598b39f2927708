using System.Buffers.Binary;
using System.Text;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.Virtio;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The split virtqueue, the virtio-mmio transport and the virtio devices against rings built by
/// hand in a small guest memory, as a driver would lay them out.
/// </summary>
public class VirtioTests
{
    /// <summary>Guest memory over a byte array at a base address; records the ranges written.</summary>
    public sealed class ArrayMemory(ulong @base, int size) : IGuestMemory
    {
        public readonly byte[] Bytes = new byte[size];
        public readonly List<(ulong Address, int Length)> Writes = [];

        public bool Read(ulong address, Span<byte> destination)
        {
            if (address < @base || address - @base + (ulong)destination.Length > (ulong)Bytes.Length) return false;
            Bytes.AsSpan((int)(address - @base), destination.Length).CopyTo(destination);
            return true;
        }

        public bool Write(ulong address, ReadOnlySpan<byte> source)
        {
            if (address < @base || address - @base + (ulong)source.Length > (ulong)Bytes.Length) return false;
            source.CopyTo(Bytes.AsSpan((int)(address - @base)));
            Writes.Add((address, source.Length));
            return true;
        }

        public Span<byte> At(ulong address, int length) => Bytes.AsSpan((int)(address - @base), length);
        public ushort U16(ulong address) => BinaryPrimitives.ReadUInt16LittleEndian(At(address, 2));
        public uint U32(ulong address) => BinaryPrimitives.ReadUInt32LittleEndian(At(address, 4));
        public void SetU16(ulong address, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(At(address, 2), v);
        public void SetU32(ulong address, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(At(address, 4), v);
        public void SetU64(ulong address, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(At(address, 8), v);
    }

    private const ulong MemBase = 0x8000_0000, Desc = MemBase + 0x1000, Avail = MemBase + 0x2000, Used = MemBase + 0x3000,
        Data = MemBase + 0x10000;

    /// <summary>A driver's view of one split queue: writes descriptors and the available ring, reads the used ring.</summary>
    private sealed class Driver(ArrayMemory m, ushort size, ulong areas = 0)
    {
        private readonly ulong Desc = VirtioTests.Desc + areas, Avail = VirtioTests.Avail + areas, Used = VirtioTests.Used + areas;
        private ushort _availIdx;
        public ushort Size => size;

        public void Descriptor(int i, ulong addr, uint len, ushort flags = 0, ushort next = 0, ulong table = 0)
        {
            ulong d = (table == 0 ? Desc : table) + 16ul * (ulong)i;
            m.SetU64(d, addr);
            m.SetU32(d + 8, len);
            m.SetU16(d + 12, flags);
            m.SetU16(d + 14, next);
        }

        public void MakeAvailable(ushort head)
        {
            m.SetU16(Avail + 4 + 2ul * (ushort)(_availIdx % size), head);
            _availIdx++;
            m.SetU16(Avail + 2, _availIdx);
        }

        public ushort UsedIdx => m.U16(Used + 2);
        public (uint Id, uint Len) UsedElement(int i) => (m.U32(Used + 4 + 8ul * (ulong)(i % size)), m.U32(Used + 8 + 8ul * (ulong)(i % size)));
        public ushort AvailEvent => m.U16(Used + 4 + 8ul * size);
        public ushort UsedEvent { set => m.SetU16(Avail + 4 + 2ul * size, value); }
        public ushort AvailFlags { set => m.SetU16(Avail, value); }
    }

    private static (ArrayMemory Memory, Virtqueue Queue, Driver Driver) NewQueue(ushort size = 8)
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var q = new Virtqueue(m, size) { DescriptorTable = Desc, DriverArea = Avail, DeviceArea = Used, Ready = true };
        return (m, q, new Driver(m, size));
    }

    // ---- Split virtqueue ---------------------------------------------------------------------------

    [Fact]
    public void Virtqueue_PopsChainsInOrder_WithReadableThenWritableBuffers()
    {
        var (m, q, d) = NewQueue();
        Assert.False(q.TryPop(out _));
        d.Descriptor(3, Data, 16, Virtqueue.DescNext, 5);
        d.Descriptor(5, Data + 0x100, 100, Virtqueue.DescNext | Virtqueue.DescWrite, 1);
        d.Descriptor(1, Data + 0x200, 1, Virtqueue.DescWrite);
        d.Descriptor(2, Data + 0x300, 7);
        d.MakeAvailable(3);
        d.MakeAvailable(2);

        Assert.True(q.TryPop(out var chain));
        Assert.Equal(3, chain.Head);
        Assert.Equal([new VirtqBuffer(Data, 16, false), new VirtqBuffer(Data + 0x100, 100, true), new VirtqBuffer(Data + 0x200, 1, true)], chain.Buffers);
        Assert.Equal(16, chain.ReadableLength);
        Assert.Equal(101, chain.WritableLength);
        Assert.True(q.TryPop(out var second));
        Assert.Equal(2, second.Head);
        Assert.False(q.TryPop(out _));
    }

    [Fact]
    public void Virtqueue_ReadAndWrite_RunAcrossBuffers()
    {
        var (m, q, d) = NewQueue();
        Encoding.ASCII.GetBytes("hello ").CopyTo(m.At(Data, 6));
        Encoding.ASCII.GetBytes("world").CopyTo(m.At(Data + 0x100, 5));
        d.Descriptor(0, Data, 6, Virtqueue.DescNext, 1);
        d.Descriptor(1, Data + 0x100, 5, Virtqueue.DescNext, 2);
        d.Descriptor(2, Data + 0x200, 3, Virtqueue.DescNext | Virtqueue.DescWrite, 3);
        d.Descriptor(3, Data + 0x300, 4, Virtqueue.DescWrite);
        d.MakeAvailable(0);
        Assert.True(q.TryPop(out var chain));
        Assert.Equal("hello world", Encoding.ASCII.GetString(chain.ReadAll(m)));
        Assert.Equal("world", Encoding.ASCII.GetString(chain.ReadAll(m, 6)));
        Assert.Equal(7, chain.Write(m, 0, "abcdefgXYZ"u8));
        Assert.Equal("abc", Encoding.ASCII.GetString(m.At(Data + 0x200, 3)));
        Assert.Equal("defg", Encoding.ASCII.GetString(m.At(Data + 0x300, 4)));
        Assert.Equal(2, chain.Write(m, 5, "12"u8));
        Assert.Equal("de12", Encoding.ASCII.GetString(m.At(Data + 0x300, 4)));
    }

    [Fact]
    public void Virtqueue_FollowsIndirectTables()
    {
        var (m, q, d) = NewQueue();
        ulong table = MemBase + 0x8000;
        d.Descriptor(0, Data, 16, Virtqueue.DescNext, 1, table);
        d.Descriptor(1, Data + 0x100, 512, Virtqueue.DescNext | Virtqueue.DescWrite, 2, table);
        d.Descriptor(2, Data + 0x400, 1, Virtqueue.DescWrite, 0, table);
        d.Descriptor(4, table, 3 * 16, Virtqueue.DescIndirect);
        d.MakeAvailable(4);
        Assert.True(q.TryPop(out var chain));
        Assert.Equal(4, chain.Head);
        Assert.Equal(3, chain.Buffers.Count);
        Assert.Equal(16, chain.ReadableLength);
        Assert.Equal(513, chain.WritableLength);
    }

    [Fact]
    public void Virtqueue_RejectsLoopsAndOutOfRangeDescriptors()
    {
        var (m, q, d) = NewQueue();
        d.Descriptor(0, Data, 1, Virtqueue.DescNext, 1);
        d.Descriptor(1, Data, 1, Virtqueue.DescNext, 0);
        d.MakeAvailable(0);
        Assert.Throws<VirtioException>(() => q.TryPop(out _));

        (m, q, d) = NewQueue();
        d.Descriptor(0, Data, 1, Virtqueue.DescNext, 9);
        d.MakeAvailable(0);
        Assert.Throws<VirtioException>(() => q.TryPop(out _));

        (m, q, d) = NewQueue();
        d.Descriptor(0, MemBase + (1 << 20), 4, Virtqueue.DescWrite);
        d.MakeAvailable(0);
        Assert.True(q.TryPop(out var chain));
        Assert.Throws<VirtioException>(() => chain.Write(m, 0, "abcd"u8));
    }

    [Fact]
    public void Virtqueue_PushFillsTheUsedRing_AndWrapsAround()
    {
        var (m, q, d) = NewQueue(size: 4);
        for (int i = 0; i < 10; i++)
        {
            d.Descriptor(i % 4, Data, 8, Virtqueue.DescWrite);
            d.MakeAvailable((ushort)(i % 4));
            Assert.True(q.TryPop(out var chain));
            q.Push(chain, (uint)(100 + i));
            Assert.Equal((ushort)(i + 1), d.UsedIdx);
            Assert.Equal(((uint)(i % 4), (uint)(100 + i)), d.UsedElement(i));
        }
    }

    [Fact]
    public void Virtqueue_Interrupts_UnlessTheDriverSuppressesThem()
    {
        var (m, q, d) = NewQueue();
        d.Descriptor(0, Data, 8, Virtqueue.DescWrite);
        Assert.False(q.NeedsInterrupt()); // nothing pushed
        d.MakeAvailable(0);
        q.TryPop(out var c);
        q.Push(c, 8);
        Assert.True(q.NeedsInterrupt());
        Assert.False(q.NeedsInterrupt());

        d.AvailFlags = Virtqueue.AvailNoInterrupt;
        d.MakeAvailable(0);
        q.TryPop(out c);
        q.Push(c, 8);
        Assert.False(q.NeedsInterrupt());
    }

    [Fact]
    public void Virtqueue_EventIndex_InterruptsWhenUsedEventIsPassed_AndPublishesAvailEvent()
    {
        var (m, q, d) = NewQueue();
        q.EventIndex = true;
        d.Descriptor(0, Data, 8, Virtqueue.DescWrite);
        d.UsedEvent = 2; // interrupt when used idx moves past 2, i.e. at the third buffer
        for (int i = 0; i < 4; i++)
        {
            d.MakeAvailable(0);
            Assert.True(q.TryPop(out var c));
            Assert.Equal((ushort)(i + 1), d.AvailEvent);
            q.Push(c, 8);
            Assert.Equal(i == 2, q.NeedsInterrupt());
        }
        // Several pushes at once: one interrupt if used_event lies among them.
        d.UsedEvent = 5;
        for (int i = 0; i < 3; i++)
        {
            d.MakeAvailable(0);
            q.TryPop(out var c);
            q.Push(c, 8);
        }
        Assert.True(q.NeedsInterrupt());
    }

    // ---- virtio-mmio transport ---------------------------------------------------------------------

    private sealed class Wire : IInterruptLine
    {
        public bool Level;
        public void Set(bool asserted) => Level = asserted;
    }

    private const ulong RegDeviceId = 0x008, RegDeviceFeatures = 0x010, RegDeviceFeaturesSel = 0x014, RegDriverFeatures = 0x020,
        RegDriverFeaturesSel = 0x024, RegQueueSel = 0x030, RegQueueNumMax = 0x034, RegQueueNum = 0x038, RegQueueReady = 0x044,
        RegQueueNotify = 0x050, RegInterruptStatus = 0x060, RegInterruptAck = 0x064, RegStatus = 0x070;

    /// <summary>Brings a transport to DRIVER_OK as Linux's virtio_mmio driver does, with one queue per ring area slot.</summary>
    private static void DriverInit(VirtioMmio t, ulong features, ushort queueSize = 8)
    {
        t.Write(RegStatus, 4, 0);
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge);
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver);
        t.Write(RegDriverFeaturesSel, 4, 0);
        t.Write(RegDriverFeatures, 4, (uint)features);
        t.Write(RegDriverFeaturesSel, 4, 1);
        t.Write(RegDriverFeatures, 4, (uint)(features >> 32));
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk);
        Assert.NotEqual(0u, (uint)t.Read(RegStatus, 4) & VirtioMmio.StatusFeaturesOk);
        for (int i = 0; i < t.Device.QueueCount; i++)
        {
            ulong offset = 0x10000ul * (ulong)i;
            t.Write(RegQueueSel, 4, (ulong)i);
            Assert.True(t.Read(RegQueueNumMax, 4) >= queueSize);
            t.Write(RegQueueNum, 4, queueSize);
            t.Write(0x080, 4, (uint)(Desc + offset)); t.Write(0x084, 4, (Desc + offset) >> 32);
            t.Write(0x090, 4, (uint)(Avail + offset)); t.Write(0x094, 4, (Avail + offset) >> 32);
            t.Write(0x0a0, 4, (uint)(Used + offset)); t.Write(0x0a4, 4, (Used + offset) >> 32);
            t.Write(RegQueueReady, 4, 1);
        }
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk | VirtioMmio.StatusDriverOk);
    }

    [Fact]
    public void Mmio_Identifies_AndOffersVersion1()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var t = new VirtioMmio(new VirtioRng(), m);
        Assert.Equal(0x74726976ul, t.Read(0x000, 4));
        Assert.Equal(2ul, t.Read(0x004, 4));
        Assert.Equal(4ul, t.Read(RegDeviceId, 4));
        Assert.Equal(0x554d4551ul, t.Read(0x00c, 4)); // "QEMU", which xv6 checks
        t.Write(RegDeviceFeaturesSel, 4, 1);
        Assert.Equal(1ul, t.Read(RegDeviceFeatures, 4) & 1); // VIRTIO_F_VERSION_1 is bit 32
        t.Write(RegDeviceFeaturesSel, 4, 0);
        Assert.NotEqual(0ul, t.Read(RegDeviceFeatures, 4) & (1ul << 28)); // indirect descriptors
    }

    [Fact]
    public void Mmio_AcceptsFeaturesWithoutVersion1_AsQemuDoes_ButRefusesUnoffered()
    {
        // xv6 writes only the low 32 feature bits and so never accepts VERSION_1; QEMU serves it.
        var t = new VirtioMmio(new VirtioRng(), new ArrayMemory(MemBase, 1 << 20));
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver);
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk);
        Assert.NotEqual(0ul, t.Read(RegStatus, 4) & VirtioMmio.StatusFeaturesOk);

        t.Write(RegStatus, 4, 0);
        t.Write(RegDriverFeaturesSel, 4, 1);
        t.Write(RegDriverFeatures, 4, 1 | 2u); // VERSION_1 and an unoffered bit 33
        t.Write(RegStatus, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk);
        Assert.Equal(0ul, t.Read(RegStatus, 4) & VirtioMmio.StatusFeaturesOk);
    }

    [Fact]
    public void Mmio_QueueRegisters_ReadBack_AndRejectBadSizes()
    {
        var t = new VirtioMmio(new VirtioRng(), new ArrayMemory(MemBase, 1 << 20));
        t.Write(RegQueueSel, 4, 0);
        Assert.Equal(64ul, t.Read(RegQueueNumMax, 4));
        t.Write(RegQueueNum, 4, 6); // not a power of two
        Assert.Equal(64ul, t.Read(RegQueueNum, 4));
        t.Write(RegQueueNum, 4, 16);
        Assert.Equal(16ul, t.Read(RegQueueNum, 4));
        t.Write(0x080, 4, 0x1234_5000); t.Write(0x084, 4, 0x1);
        Assert.Equal(0x1234_5000ul, t.Read(0x080, 4));
        Assert.Equal(1ul, t.Read(0x084, 4));
        t.Write(RegQueueSel, 4, 1); // no such queue
        Assert.Equal(0ul, t.Read(RegQueueNumMax, 4));
    }

    [Fact]
    public void Mmio_Rng_FillsBuffers_RaisesAndAcksTheInterrupt_AndResets()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var wire = new Wire();
        var t = new VirtioMmio(new VirtioRng(), m, wire);
        DriverInit(t, VirtioFeatures.Version1);
        var d = new Driver(m, 8);
        d.Descriptor(0, Data, 64, Virtqueue.DescWrite);
        d.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0);
        Assert.Equal(1, d.UsedIdx);
        Assert.Equal((0u, 64u), d.UsedElement(0));
        Assert.Contains(m.At(Data, 64).ToArray(), b => b != 0);
        Assert.True(wire.Level);
        Assert.Equal(1ul, t.Read(RegInterruptStatus, 4));
        t.Write(RegInterruptAck, 4, 1);
        Assert.False(wire.Level);
        Assert.Equal(0ul, t.Read(RegInterruptStatus, 4));

        t.Write(RegStatus, 4, 0);
        Assert.Equal(0ul, t.Read(RegStatus, 4));
        t.Write(RegQueueSel, 4, 0);
        Assert.Equal(0ul, t.Read(RegQueueReady, 4));
        d.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0); // ignored after reset
        Assert.Equal(1, d.UsedIdx);
    }

    [Fact]
    public void Mmio_SaveAndRestore_ResumesTheQueuesWhereTheyStopped()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var t = new VirtioMmio(new VirtioRng(), m, new Wire());
        DriverInit(t, VirtioFeatures.Version1 | VirtioFeatures.EventIndex, queueSize: 16);
        var d = new Driver(m, 16);
        d.Descriptor(0, Data, 8, Virtqueue.DescWrite);
        d.UsedEvent = 0;
        d.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0);
        var state = t.Save();

        // A new machine: the same guest RAM, a fresh transport, the saved state.
        var m2 = new ArrayMemory(MemBase, 1 << 20);
        m.Bytes.CopyTo(m2.Bytes);
        var wire = new Wire();
        var t2 = new VirtioMmio(new VirtioRng(), m2, wire);
        t2.Restore(state);
        Assert.True(wire.Level); // the unacknowledged interrupt is still pending
        Assert.Equal(t.Read(RegStatus, 4), t2.Read(RegStatus, 4));
        t2.Write(RegQueueSel, 4, 0);
        Assert.Equal(16ul, t2.Read(RegQueueNum, 4));
        Assert.Equal(1ul, t2.Read(RegQueueReady, 4));
        var d2 = new Driver(m2, 16);
        d2.Descriptor(1, Data + 0x100, 8, Virtqueue.DescWrite);
        m2.SetU16(Avail + 4 + 2, 1);
        m2.SetU16(Avail + 2, 2);
        t2.Write(RegQueueNotify, 4, 0);
        Assert.Equal(2, d2.UsedIdx);
        Assert.Equal((1u, 8u), d2.UsedElement(1));

        Assert.Throws<VirtioException>(() => new VirtioMmio(new VirtioConsole(), m2).Restore(state));
    }

    private static byte[] SaveState(Isomorph.Devices.State.ISnapshotState component)
    {
        var w = new Isomorph.Devices.State.SnapshotWriter();
        component.Save(w);
        return w.Written.ToArray();
    }

    [Fact]
    public void Mmio_SnapshotState_RoundTrips_WithTheConsolesPendingInput()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var console = new VirtioConsole();
        var t = new VirtioMmio(console, m, new Wire());
        DriverInit(t, VirtioFeatures.Version1, queueSize: 8);
        var d = new Driver(m, 8);
        d.Descriptor(0, Data, 4, Virtqueue.DescWrite);
        d.MakeAvailable(0);
        console.SendInput("hello, world"u8); // 4 bytes reach the guest, the rest waits for buffers
        t.Poll();
        Assert.Equal("hell", Encoding.ASCII.GetString(m.At(Data, 4)));
        byte[] saved = SaveState(t);

        var m2 = new ArrayMemory(MemBase, 1 << 20);
        m.Bytes.CopyTo(m2.Bytes);
        var wire = new Wire();
        var t2 = new VirtioMmio(new VirtioConsole(), m2, wire);
        t2.Restore(new Isomorph.Devices.State.SnapshotReader("virtio0", saved));
        Assert.Equal(saved, SaveState(t2));
        Assert.True(wire.Level);

        // The rest of the input arrives once the driver offers another buffer.
        var d2 = new Driver(m2, 8);
        m2.SetU16(Avail + 2, 1);
        d2.Descriptor(1, Data + 0x100, 64, Virtqueue.DescWrite);
        m2.SetU16(Avail + 4 + 2, 1);
        m2.SetU16(Avail + 2, 2);
        t2.Poll();
        Assert.Equal((1u, 8u), d2.UsedElement(1));
        Assert.Equal("o, world", Encoding.ASCII.GetString(m2.At(Data + 0x100, 8)));
    }

    [Fact]
    public void Mmio_SnapshotState_OfAnotherDevice_OrADiskOfAnotherSize_IsRefused()
    {
        var dir = Directory.CreateTempSubdirectory("isomorph-virtio-state");
        try
        {
            string small = Path.Combine(dir.FullName, "small.img"), large = Path.Combine(dir.FullName, "large.img");
            File.WriteAllBytes(small, new byte[4096]);
            File.WriteAllBytes(large, new byte[8192]);
            var m = new ArrayMemory(MemBase, 1 << 20);
            byte[] saved;
            using (var t = new VirtioMmio(VirtioBlock.Open(small, readOnly: true), m)) saved = SaveState(t);
            using (var t = new VirtioMmio(VirtioBlock.Open(large, readOnly: true), m))
            {
                var e = Assert.Throws<Isomorph.Devices.State.SnapshotException>(() => t.Restore(new Isomorph.Devices.State.SnapshotReader("virtio0", saved)));
                Assert.Contains("configuration differs", e.Message);
            }
            using (var t = new VirtioMmio(new VirtioRng(), m))
                Assert.Throws<Isomorph.Devices.State.SnapshotException>(() => t.Restore(new Isomorph.Devices.State.SnapshotReader("virtio0", saved)));
            using (var t = new VirtioMmio(VirtioBlock.Open(small, readOnly: true), m))
            {
                t.Restore(new Isomorph.Devices.State.SnapshotReader("virtio0", saved));
                Assert.Equal(saved, SaveState(t));
                // Cut short anywhere, the state is refused with the section's name, never half-read silently.
                for (int cut = 0; cut < saved.Length; cut += 7)
                {
                    var e = Assert.Throws<Isomorph.Devices.State.SnapshotException>(() => t.Restore(new Isomorph.Devices.State.SnapshotReader("virtio0", saved[..cut])));
                    Assert.StartsWith("section 'virtio0'", e.Message);
                }
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void Mmio_MalformedChain_SetsNeedsReset()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var wire = new Wire();
        var t = new VirtioMmio(new VirtioRng(), m, wire);
        DriverInit(t, VirtioFeatures.Version1);
        var d = new Driver(m, 8);
        d.Descriptor(0, Data, 8, Virtqueue.DescNext | Virtqueue.DescWrite, 0); // loops onto itself
        d.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0);
        Assert.NotEqual(0ul, t.Read(RegStatus, 4) & VirtioMmio.StatusNeedsReset);
        Assert.Equal(2ul, t.Read(RegInterruptStatus, 4));
        Assert.True(wire.Level);
    }

    // ---- virtio-blk ----------------------------------------------------------------------------------

    private sealed class TempDisk : IDisposable
    {
        public readonly string Path = System.IO.Path.GetTempFileName();
        public TempDisk(int sectors)
        {
            var bytes = new byte[sectors * 512];
            for (int i = 0; i < bytes.Length; i++) bytes[i] = (byte)(i / 512);
            File.WriteAllBytes(Path, bytes);
        }
        public void Dispose() => File.Delete(Path);
    }

    /// <summary>Issues one block request (header, data, status) through the transport; returns the status and used length.</summary>
    private static (byte Status, uint Used) BlockRequest(VirtioMmio t, ArrayMemory m, Driver d, uint type, ulong sector, int dataLength, bool deviceWrites)
    {
        m.SetU32(Data, type);
        m.SetU32(Data + 4, 0);
        m.SetU64(Data + 8, sector);
        m.At(Data + 0x2000, 1)[0] = 0xff;
        int n = 0;
        d.Descriptor(n, Data, 16, Virtqueue.DescNext, (ushort)(n + 1)); n++;
        if (dataLength > 0)
        {
            d.Descriptor(n, Data + 0x1000, (uint)dataLength, (ushort)(Virtqueue.DescNext | (deviceWrites ? Virtqueue.DescWrite : 0)), (ushort)(n + 1));
            n++;
        }
        d.Descriptor(n, Data + 0x2000, 1, Virtqueue.DescWrite);
        ushort before = d.UsedIdx;
        d.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0);
        Assert.Equal(before + 1, d.UsedIdx);
        return (m.At(Data + 0x2000, 1)[0], d.UsedElement(before).Len);
    }

    [Fact]
    public void Block_ReadsWritesFlushesAndIdentifies()
    {
        using var disk = new TempDisk(8);
        var m = new ArrayMemory(MemBase, 1 << 20);
        using var t = new VirtioMmio(VirtioBlock.Open(disk.Path, readOnly: false), m);
        Assert.Equal(2ul, t.Read(RegDeviceId, 4));
        Assert.Equal(8ul, t.Read(0x100, 8)); // capacity in sectors
        Assert.Equal(8ul, t.Read(0x100, 4));
        Assert.Equal(0ul, t.Read(0x104, 4));
        DriverInit(t, VirtioFeatures.Version1 | VirtioBlock.FeatureFlush);
        var d = new Driver(m, 8);

        var (status, used) = BlockRequest(t, m, d, VirtioBlock.RequestIn, 2, 1024, deviceWrites: true);
        Assert.Equal(VirtioBlock.StatusOk, status);
        Assert.Equal(1025u, used);
        Assert.Equal(2, m.At(Data + 0x1000, 1024)[0]);
        Assert.Equal(3, m.At(Data + 0x1000, 1024)[1023]);

        m.At(Data + 0x1000, 512).Fill(0xAB);
        (status, used) = BlockRequest(t, m, d, VirtioBlock.RequestOut, 7, 512, deviceWrites: false);
        Assert.Equal(VirtioBlock.StatusOk, status);
        Assert.Equal(1u, used);
        (status, _) = BlockRequest(t, m, d, VirtioBlock.RequestFlush, 0, 0, deviceWrites: false);
        Assert.Equal(VirtioBlock.StatusOk, status);

        (status, used) = BlockRequest(t, m, d, VirtioBlock.RequestGetId, 0, 20, deviceWrites: true);
        Assert.Equal(VirtioBlock.StatusOk, status);
        Assert.StartsWith(Path.GetFileName(disk.Path)[..Math.Min(20, Path.GetFileName(disk.Path).Length)], Encoding.ASCII.GetString(m.At(Data + 0x1000, 20)));

        // Beyond the end, and an unknown request.
        (status, _) = BlockRequest(t, m, d, VirtioBlock.RequestIn, 7, 1024, deviceWrites: true);
        Assert.Equal(VirtioBlock.StatusIoError, status);
        (status, _) = BlockRequest(t, m, d, 99, 0, 0, deviceWrites: false);
        Assert.Equal(VirtioBlock.StatusUnsupported, status);

        t.Dispose();
        var bytes = File.ReadAllBytes(disk.Path);
        Assert.All(bytes[(7 * 512)..], b => Assert.Equal(0xAB, b));
        Assert.Equal(6, bytes[6 * 512]);
    }

    [Fact]
    public void Block_ReadOnly_OffersRo_AndFailsWrites()
    {
        using var disk = new TempDisk(4);
        var m = new ArrayMemory(MemBase, 1 << 20);
        using var t = new VirtioMmio(VirtioBlock.Open(disk.Path, readOnly: true), m);
        Assert.NotEqual(0ul, t.Read(RegDeviceFeatures, 4) & VirtioBlock.FeatureReadOnly);
        DriverInit(t, VirtioFeatures.Version1 | VirtioBlock.FeatureReadOnly);
        var d = new Driver(m, 8);
        var (status, _) = BlockRequest(t, m, d, VirtioBlock.RequestOut, 0, 512, deviceWrites: false);
        Assert.Equal(VirtioBlock.StatusIoError, status);
        (status, _) = BlockRequest(t, m, d, VirtioBlock.RequestIn, 1, 512, deviceWrites: true);
        Assert.Equal(VirtioBlock.StatusOk, status);
        t.Dispose();
        Assert.Equal(0, File.ReadAllBytes(disk.Path)[0]);
    }

    // ---- virtio-net ----------------------------------------------------------------------------------

    private sealed class LoopBackend : INetBackend
    {
        public readonly List<byte[]> Sent = [];
        public Action<byte[]>? Received { get; set; }
        public void Send(ReadOnlySpan<byte> frame) => Sent.Add(frame.ToArray());
        public void Dispose() { }
    }

    [Fact]
    public void Net_TransmitsWithoutTheHeader_AndReceivesIntoOfferedBuffers()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var backend = new LoopBackend();
        byte[] mac = [0x52, 0x54, 0, 1, 2, 3];
        int wakes = 0;
        var net = new VirtioNet(backend, mac) { FrameArrived = () => wakes++ };
        var wire = new Wire();
        using var t = new VirtioMmio(net, m, wire);
        Assert.Equal(mac, Enumerable.Range(0, 6).Select(i => (byte)t.Read(0x100 + (ulong)i, 1)).ToArray());
        DriverInit(t, VirtioFeatures.Version1 | VirtioNet.FeatureMac);

        // Transmit queue 1 (its rings are 0x10000 above queue 0's).
        var tx = new Driver(m, 8, areas: 0x10000);
        tx.Descriptor(0, Data, (uint)(VirtioNet.HeaderSize + 5));
        Encoding.ASCII.GetBytes("frame").CopyTo(m.At(Data + VirtioNet.HeaderSize, 5));
        tx.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 1);
        Assert.Equal("frame", Encoding.ASCII.GetString(Assert.Single(backend.Sent)));
        Assert.Equal(1, tx.UsedIdx);

        // A frame that arrives before any receive buffer waits for one.
        backend.Received!("hello"u8.ToArray());
        Assert.Equal(1, wakes);
        t.Poll();
        var rx = new Driver(m, 8);
        rx.Descriptor(0, Data + 0x4000, 1526, Virtqueue.DescWrite);
        rx.MakeAvailable(0);
        t.Write(RegInterruptAck, 4, 3);
        t.Write(RegQueueNotify, 4, 0);
        Assert.Equal(1, rx.UsedIdx);
        Assert.Equal((0u, (uint)VirtioNet.HeaderSize + 5), rx.UsedElement(0));
        Assert.Equal(1, m.At(Data + 0x4000 + 10, 1)[0]); // num_buffers
        Assert.Equal("hello", Encoding.ASCII.GetString(m.At(Data + 0x4000 + VirtioNet.HeaderSize, 5)));
        Assert.True(wire.Level);

        // With a buffer already offered, Poll delivers.
        rx.MakeAvailable(0);
        backend.Received!("again"u8.ToArray());
        t.Poll();
        Assert.Equal(2, rx.UsedIdx);
        Assert.Equal("again", Encoding.ASCII.GetString(m.At(Data + 0x4000 + VirtioNet.HeaderSize, 5)));
    }

    [Fact]
    public void Console_WritesGuestOutput_AndSplitsInputAcrossBuffers()
    {
        var m = new ArrayMemory(MemBase, 1 << 20);
        var output = new List<string>();
        int wakes = 0;
        var console = new VirtioConsole { Output = b => output.Add(Encoding.ASCII.GetString(b)), InputArrived = () => wakes++ };
        using var t = new VirtioMmio(console, m);
        Assert.Equal(3ul, t.Read(RegDeviceId, 4));
        DriverInit(t, VirtioFeatures.Version1);

        var tx = new Driver(m, 8, areas: 0x10000);
        Encoding.ASCII.GetBytes("out!").CopyTo(m.At(Data, 4));
        tx.Descriptor(0, Data, 4);
        tx.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 1);
        Assert.Equal(["out!"], output);

        console.SendInput("abcdef"u8);
        Assert.Equal(1, wakes);
        var rx = new Driver(m, 8);
        rx.Descriptor(0, Data + 0x100, 4, Virtqueue.DescWrite);
        rx.Descriptor(1, Data + 0x200, 4, Virtqueue.DescWrite);
        rx.MakeAvailable(0);
        t.Write(RegQueueNotify, 4, 0);
        Assert.Equal((0u, 4u), rx.UsedElement(0));
        Assert.Equal("abcd", Encoding.ASCII.GetString(m.At(Data + 0x100, 4)));
        rx.MakeAvailable(1);
        t.Poll();
        Assert.Equal((1u, 2u), rx.UsedElement(1));
        Assert.Equal("ef", Encoding.ASCII.GetString(m.At(Data + 0x200, 2)));
    }

    [Fact]
    public void SocketBackend_JoinsTwoEnds_WithLengthPrefixedFrames()
    {
        string path = Path.Combine(Path.GetTempPath(), $"isomorph-net-{Guid.NewGuid():N}.sock");
        using var a = new SocketNetBackend(path);
        using var b = new SocketNetBackend(path);
        Assert.True(a.IsListener);
        Assert.False(b.IsListener);
        var gotA = new System.Collections.Concurrent.BlockingCollection<byte[]>();
        var gotB = new System.Collections.Concurrent.BlockingCollection<byte[]>();
        a.Received = gotA.Add;
        b.Received = gotB.Add;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!a.Connected && DateTime.UtcNow < deadline) Thread.Sleep(10);
        b.Send("to a"u8);
        a.Send("to b"u8);
        Assert.True(gotA.TryTake(out var fa, TimeSpan.FromSeconds(10)));
        Assert.True(gotB.TryTake(out var fb, TimeSpan.FromSeconds(10)));
        Assert.Equal("to a", Encoding.ASCII.GetString(fa));
        Assert.Equal("to b", Encoding.ASCII.GetString(fb));

        // The listening VM reboots: its successor listens again and the other end reconnects.
        a.Dispose();
        using var a2 = new SocketNetBackend(path);
        Assert.True(a2.IsListener);
        a2.Received = gotA.Add;
        bool arrived = false;
        for (int i = 0; i < 100 && !arrived; i++)
        {
            b.Send("again"u8); // frames sent while unplugged are lost, as on a wire
            arrived = gotA.TryTake(out fa, TimeSpan.FromMilliseconds(100));
        }
        Assert.True(arrived);
        Assert.Equal("again", Encoding.ASCII.GetString(fa!));
    }
}

/// <summary>The virt machine's virtio-mmio slots and their device-tree nodes.</summary>
public class VirtioMachineTests
{
    [Fact]
    public void DeviceTree_DescribesOnlyPopulatedVirtioSlots()
    {
        var blob = Isomorph.Machines.Virt.VirtDeviceTree.Build(new() { MemorySize = 64 << 20, VirtioSlots = 2 });
        var props = FdtReader.Parse(blob);
        Assert.Equal(["virtio,mmio"], FdtReader.Strings(props["/soc/virtio_mmio@10001000/compatible"]));
        Assert.Equal([0u, 0x1000_1000u, 0u, 0x1000u], FdtReader.Cells(props["/soc/virtio_mmio@10001000/reg"]));
        Assert.Equal([1u], FdtReader.Cells(props["/soc/virtio_mmio@10001000/interrupts"]));
        Assert.Equal([0u, 0x1000_2000u, 0u, 0x1000u], FdtReader.Cells(props["/soc/virtio_mmio@10002000/reg"]));
        Assert.Equal([2u], FdtReader.Cells(props["/soc/virtio_mmio@10002000/interrupts"]));
        Assert.Equal(FdtReader.Cells(props["/soc/plic@c000000/phandle"]), FdtReader.Cells(props["/soc/virtio_mmio@10002000/interrupt-parent"]));
        Assert.DoesNotContain(props.Keys, k => k.StartsWith("/soc/virtio_mmio@10003000"));
    }

    [Fact]
    public unsafe void Machine_PutsDevicesInSlots_AndDmaInvalidatesDecodedCode()
    {
        var kernel = Path.GetTempFileName();
        var disk = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(kernel, VirtMachineTests.SbiHelloPayload("x"));
            File.WriteAllBytes(disk, new byte[4096]);
            using var machine = new Isomorph.Machines.Virt.VirtMachine(new()
            {
                Kernel = kernel, Disks = [new(disk)], Rng = true, MemorySize = 64 << 20,
            });
            Assert.Equal(["virtio-blk", "virtio-rng"], machine.Virtio.Select(v => v.Name));
            Assert.True(machine.Bus.TryRead(0x1000_1000 + 0x008, 4, out ulong id) && id == 2);
            Assert.True(machine.Bus.TryRead(0x1000_2000 + 0x008, 4, out id) && id == 4);
            // An unused slot answers as QEMU's do: the magic value, version 2, QEMU's vendor id, device id 0.
            Assert.True(machine.Bus.TryRead(0x1000_3000, 4, out ulong magic) && magic == 0x74726976);
            Assert.True(machine.Bus.TryRead(0x1000_8000 + 0x008, 4, out id) && id == 0);
            Assert.True(machine.Bus.TryRead(0x1000_8000 + 0x00c, 4, out ulong vendor) && vendor == 0x554d4551);
            Assert.False(machine.Bus.TryFindDevice(0x1000_9000, out _));

            // A DMA write over a page with decoded code resets its slots.
            var code = machine.Harts[0].Code;
            ulong at = Isomorph.Machines.Virt.VirtMemoryMap.RamBase;
            var page = code.GetPage(at)!;
            page.Slots[3].Exec = null;
            page.Slots[9].Exec = null;
            Assert.True(machine.Virtio[1].Memory.Write(at + 6, [0x13, 0, 0, 0]));
            Assert.True(page.Slots[3].Exec != null);
            Assert.True(page.Slots[9].Exec == null); // outside the written range
        }
        finally
        {
            File.Delete(kernel);
            File.Delete(disk);
        }
    }
}
