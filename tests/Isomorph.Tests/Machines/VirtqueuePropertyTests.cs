using System.Buffers.Binary;
using CsCheck;
using Isomorph.Devices.Virtio;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Property tests of virtqueue processing: random descriptor tables, indirect tables and rings in a
/// small guest memory (addresses inside, across the end of, or outside RAM; lengths up to 4 GiB;
/// every flag combination; next indices in and past the table; available indices that jump). The
/// queue and every device model behind the virtio-mmio transport must never throw anything but
/// their own <see cref="VirtioException"/> (which the transport turns into DEVICE_NEEDS_RESET),
/// and never loop for ever: each run of samples must end within a time limit.
/// </summary>
public class VirtqueuePropertyTests
{
    private const ulong Base = 0x8000_0000;
    private const int MemorySize = 64 << 10;
    private const ulong Desc = Base, Avail = Base + 0x1000, Used = Base + 0x2000, Indirect = Base + 0x3000, Data = Base + 0x4000;
    private const ushort QueueSize = 16;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    private sealed record Descriptor(ulong Address, uint Length, ushort Flags, ushort Next);

    /// <summary>What the hostile driver wrote: the queue's table, an indirect table, the available ring and its index.</summary>
    private sealed record Rings(Descriptor[] Table, Descriptor[] IndirectTable, ushort[] Heads, ushort AvailIdx, ushort AvailFlags)
    {
        public override string ToString() =>
            $"table [{string.Join(", ", Table.Select(Show))}] indirect [{string.Join(", ", IndirectTable.Select(Show))}] heads [{string.Join(",", Heads)}] idx {AvailIdx}";

        private static string Show(Descriptor d) => $"0x{d.Address:x}/{d.Length}/{d.Flags}/{d.Next}";
    }

    private static readonly Gen<ulong> Address = Gen.OneOf<ulong>(
        Gen.ULong[Data, Base + MemorySize - 1],
        Gen.OneOf(Base, Base - 8, Base + MemorySize - 4, Base + MemorySize, Desc, Indirect, Indirect + 8, 0ul, ulong.MaxValue - 7),
        Gen.ULong);
    private static readonly Gen<uint> Length = Gen.OneOf<uint>(
        Gen.UInt[0, 2048], Gen.OneOf(0u, 16u, 17u, 32u, 512u, 0xffff_fff0u, 0xffff_ffffu), Gen.UInt);
    private static readonly Gen<ushort> Next = Gen.OneOf<ushort>(Gen.UShort[0, QueueSize + 2], Gen.UShort);
    private static readonly Gen<Descriptor> Descriptors =
        Gen.Select(Address, Length, Gen.UShort[0, 7], Next, (a, l, f, n) => new Descriptor(a, l, f, n));
    private static readonly Gen<Rings> AllRings = Gen.Select(
        Descriptors.Array[QueueSize], Descriptors.Array[0, 64], Gen.OneOf<ushort>(Gen.UShort[0, QueueSize], Gen.UShort).Array[QueueSize],
        Gen.OneOf<ushort>(Gen.UShort[0, QueueSize + 1], Gen.UShort), Gen.UShort[0, 1],
        (t, i, h, idx, flags) => new Rings(t, i, h, idx, flags));

    private static VirtioTests.ArrayMemory Memory(Rings r)
    {
        var m = new VirtioTests.ArrayMemory(Base, MemorySize);
        Write(m, Desc, r.Table);
        Write(m, Indirect, r.IndirectTable);
        m.SetU16(Avail, r.AvailFlags);
        m.SetU16(Avail + 2, r.AvailIdx);
        for (int i = 0; i < r.Heads.Length; i++) m.SetU16(Avail + 4 + 2ul * (ulong)i, r.Heads[i]);
        return m;

        static void Write(VirtioTests.ArrayMemory m, ulong table, Descriptor[] ds)
        {
            for (int i = 0; i < ds.Length; i++)
            {
                ulong d = table + 16ul * (ulong)i;
                m.SetU64(d, ds[i].Address);
                m.SetU32(d + 8, ds[i].Length);
                m.SetU16(d + 12, ds[i].Flags);
                m.SetU16(d + 14, ds[i].Next);
            }
        }
    }

    private static void WithinLimit(Action run)
    {
        var task = Task.Run(run);
        Assert.True(task.Wait(Limit), $"the samples did not finish within {Limit}: a queue loops");
    }

    [Fact]
    public void RandomRings_TheQueuePopsOrThrowsItsOwnError_AndTerminates() => WithinLimit(() =>
        AllRings.Sample(r =>
        {
            var m = Memory(r);
            var q = new Virtqueue(m, QueueSize) { DescriptorTable = Desc, DriverArea = Avail, DeviceArea = Used, Ready = true };
            try
            {
                for (int n = 0; n < QueueSize + 1 && q.TryPop(out var chain); n++)
                {
                    Assert.InRange(chain.Buffers.Count, 1, q.MaxChainLength);
                    var bytes = chain.ReadAll(m, 0, 4096);
                    Assert.True(bytes.Length <= 4096);
                    chain.Write(m, 0, bytes);
                    q.Push(chain, (uint)bytes.Length);
                }
            }
            catch (VirtioException)
            {
                // the device's own clean error: DEVICE_NEEDS_RESET
            }
        }, iter: 3000, threads: 1));

    private static readonly Func<IVirtioDevice>[] DeviceKinds =
    [
        () => new VirtioRng(),
        () => new VirtioConsole { Output = _ => { } },
        () => new VirtioNet(new NullBackend(), VirtioNet.RandomMac()),
        () => new VirtioBlock(new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose), false, "prop"),
    ];

    private sealed class NullBackend : INetBackend
    {
        public void Send(ReadOnlySpan<byte> frame) { }
        public Action<byte[]>? Received { set { } }
        public void Dispose() { }
    }

    [Fact]
    public void RandomRings_EveryDeviceServesOrNeedsReset_ThroughTheTransport_AndRecovers() => WithinLimit(() =>
        Gen.Select(AllRings, Gen.Int[0, DeviceKinds.Length - 1]).Sample((r, kind) =>
        {
            var m = Memory(r);
            using var t = new VirtioMmio(DeviceKinds[kind](), m);
            for (int queue = 0; queue < t.Device.QueueCount; queue++)
            {
                DriverOk(t, queue);
                t.Write(0x050, 4, (ulong)queue); // QueueNotify: anything but a VirtioException escapes and fails the test
                t.Poll();
                uint status = (uint)t.Read(0x070, 4);
                if ((status & VirtioMmio.StatusNeedsReset) != 0)
                    Assert.NotEqual(0u, (uint)t.Read(0x060, 4) & VirtioMmio.InterruptConfigChange);
                else
                    Assert.True(m.U16(Used + 2) <= QueueSize, "more chains used than the queue holds");
                t.Write(0x070, 4, 0); // reset
                Assert.Equal(0ul, t.Read(0x070, 4));
                m.SetU16(Used + 2, 0);
            }
        }, iter: 2000, threads: 1));

    /// <summary>Brings queue <paramref name="queue"/> (only) up over the rings at Desc, Avail and Used.</summary>
    private static void DriverOk(VirtioMmio t, int queue)
    {
        t.Write(0x070, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver);
        t.Write(0x024, 4, 0);
        t.Write(0x020, 4, (uint)VirtioFeatures.IndirectDescriptors);
        t.Write(0x024, 4, 1);
        t.Write(0x020, 4, 1); // VERSION_1
        t.Write(0x070, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk);
        t.Write(0x030, 4, (ulong)queue);
        t.Write(0x038, 4, QueueSize);
        t.Write(0x080, 4, (uint)Desc); t.Write(0x084, 4, Desc >> 32);
        t.Write(0x090, 4, (uint)Avail); t.Write(0x094, 4, Avail >> 32);
        t.Write(0x0a0, 4, (uint)Used); t.Write(0x0a4, 4, Used >> 32);
        t.Write(0x044, 4, 1);
        t.Write(0x070, 4, VirtioMmio.StatusAcknowledge | VirtioMmio.StatusDriver | VirtioMmio.StatusFeaturesOk | VirtioMmio.StatusDriverOk);
    }
}
