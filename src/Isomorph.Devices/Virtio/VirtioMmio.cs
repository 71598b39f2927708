using System.Buffers.Binary;
using Isomorph.Devices.Bus;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Virtio;

/// <summary>The saved state of a virtio-mmio transport and its queues.</summary>
public sealed record VirtioMmioState(VirtioDeviceId DeviceId, uint Status, ulong DriverFeatures, uint DeviceFeaturesSel,
    uint DriverFeaturesSel, uint QueueSel, uint InterruptStatus, uint ConfigGeneration, VirtqueueState[] Queues);

/// <summary>
/// The virtio-mmio transport, version 2 (virtio 1.x, section 4.2): a 4 KiB register window that
/// negotiates features, sets up the device's split virtqueues, carries notifications and the
/// interrupt status, and exposes the device's configuration space from offset 0x100.
/// </summary>
public sealed class VirtioMmio : IMmioDevice, IVirtioQueues, ISnapshotState, IDisposable
{
    public const ulong WindowSize = 0x1000;
    public const uint MagicValue = 0x74726976; // "virt"
    public const uint VersionModern = 2;
    /// <summary>
    /// The vendor id QEMU's virtio-mmio devices present ("QEMU"): operating systems written for
    /// QEMU's virt board (MIT's xv6) refuse a device with another one, and Linux ignores it.
    /// </summary>
    public const uint VendorId = 0x554d4551;

    private const int RegMagic = 0x000, RegVersion = 0x004, RegDeviceId = 0x008, RegVendorId = 0x00c,
        RegDeviceFeatures = 0x010, RegDeviceFeaturesSel = 0x014, RegDriverFeatures = 0x020, RegDriverFeaturesSel = 0x024,
        RegQueueSel = 0x030, RegQueueNumMax = 0x034, RegQueueNum = 0x038, RegQueueReady = 0x044, RegQueueNotify = 0x050,
        RegInterruptStatus = 0x060, RegInterruptAck = 0x064, RegStatus = 0x070,
        RegQueueDescLow = 0x080, RegQueueDescHigh = 0x084, RegQueueDriverLow = 0x090, RegQueueDriverHigh = 0x094,
        RegQueueDeviceLow = 0x0a0, RegQueueDeviceHigh = 0x0a4, RegShmSel = 0x0ac, RegShmLenLow = 0x0b0, RegShmLenHigh = 0x0b4,
        RegShmBaseLow = 0x0b8, RegShmBaseHigh = 0x0bc, RegConfigGeneration = 0x0fc, Config = 0x100;

    /// <summary>Device status bits.</summary>
    public const uint StatusAcknowledge = 1, StatusDriver = 2, StatusDriverOk = 4, StatusFeaturesOk = 8,
        StatusNeedsReset = 64, StatusFailed = 128;

    public const uint InterruptUsedBuffer = 1, InterruptConfigChange = 2;

    private readonly IVirtioDevice _device;
    private readonly IInterruptLine _irq;
    private readonly Virtqueue[] _queues;
    // Harts on several host threads may reach the same device; its model runs under this lock.
    private readonly Lock _lock = new();
    private uint _deviceFeaturesSel, _driverFeaturesSel, _queueSel, _status, _interruptStatus, _configGeneration;
    private ulong _driverFeatures;

    public VirtioMmio(IVirtioDevice device, IGuestMemory memory, IInterruptLine? irq = null)
    {
        _device = device;
        Memory = memory;
        _irq = irq ?? InterruptLine.None;
        _queues = new Virtqueue[device.QueueCount];
        for (int i = 0; i < _queues.Length; i++) _queues[i] = new Virtqueue(memory, device.QueueSize);
    }

    public IVirtioDevice Device => _device;
    public string Name => _device.Name;
    public ulong Size => WindowSize;
    public IGuestMemory Memory { get; }
    public ulong Features => _driverFeatures;
    public uint Status => _status;
    public uint InterruptStatus => _interruptStatus;

    /// <summary>The features offered: the device's and the transport's.</summary>
    public ulong DeviceFeatures => _device.Features | VirtioFeatures.Version1 | VirtioFeatures.IndirectDescriptors | VirtioFeatures.EventIndex;

    public Virtqueue Queue(int index) => _queues[index];

    private Virtqueue? Selected => _queueSel < _queues.Length ? _queues[_queueSel] : null;

    public ulong Read(ulong offset, int size)
    {
        lock (_lock) return ReadLocked(offset, size);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        lock (_lock) WriteLocked(offset, size, value);
    }

    private ulong ReadLocked(ulong offset, int size)
    {
        if (offset >= Config)
        {
            Span<byte> data = stackalloc byte[8];
            _device.ReadConfig((int)(offset - Config), data[..size]);
            return BinaryPrimitives.ReadUInt64LittleEndian(data);
        }
        return (int)offset switch
        {
            RegMagic => MagicValue,
            RegVersion => VersionModern,
            RegDeviceId => (uint)_device.DeviceId,
            RegVendorId => VendorId,
            RegDeviceFeatures => _deviceFeaturesSel switch
            {
                0 => (uint)DeviceFeatures,
                1 => (uint)(DeviceFeatures >> 32),
                _ => 0,
            },
            RegQueueNumMax => Selected?.MaxSize ?? 0u,
            RegQueueNum => Selected?.Size ?? 0u,
            RegQueueReady => Selected is { Ready: true } ? 1u : 0,
            RegInterruptStatus => _interruptStatus,
            RegStatus => _status,
            RegQueueDescLow => (uint)(Selected?.DescriptorTable ?? 0),
            RegQueueDescHigh => (uint)((Selected?.DescriptorTable ?? 0) >> 32),
            RegQueueDriverLow => (uint)(Selected?.DriverArea ?? 0),
            RegQueueDriverHigh => (uint)((Selected?.DriverArea ?? 0) >> 32),
            RegQueueDeviceLow => (uint)(Selected?.DeviceArea ?? 0),
            RegQueueDeviceHigh => (uint)((Selected?.DeviceArea ?? 0) >> 32),
            RegShmLenLow or RegShmLenHigh or RegShmBaseLow or RegShmBaseHigh => 0xffff_ffff, // no shared memory regions
            RegConfigGeneration => _configGeneration,
            _ => 0,
        };
    }

    private void WriteLocked(ulong offset, int size, ulong value)
    {
        if (offset >= Config)
        {
            Span<byte> data = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(data, value);
            _device.WriteConfig((int)(offset - Config), data[..size]);
            return;
        }
        uint v = (uint)value;
        var q = Selected;
        switch ((int)offset)
        {
            case RegDeviceFeaturesSel: _deviceFeaturesSel = v; break;
            case RegDriverFeaturesSel: _driverFeaturesSel = v; break;
            case RegDriverFeatures:
                if ((_status & StatusFeaturesOk) != 0) break; // features are fixed once accepted
                if (_driverFeaturesSel == 0) _driverFeatures = (_driverFeatures & ~0xffff_ffffUL) | v;
                else if (_driverFeaturesSel == 1) _driverFeatures = (_driverFeatures & 0xffff_ffffUL) | ((ulong)v << 32);
                break;
            case RegQueueSel: _queueSel = v; break;
            case RegQueueNum:
                if (q is not null && !q.Ready && v >= 1 && v <= q.MaxSize && (v & (v - 1)) == 0) q.Size = (ushort)v;
                break;
            case RegQueueReady:
                if (q is not null) q.Ready = (v & 1) != 0;
                break;
            case RegQueueNotify: Notify(v); break;
            case RegInterruptAck:
                _interruptStatus &= ~v;
                UpdateInterrupt();
                break;
            case RegStatus: WriteStatus(v); break;
            case RegQueueDescLow: if (q is { Ready: false }) q.DescriptorTable = Low(q.DescriptorTable, v); break;
            case RegQueueDescHigh: if (q is { Ready: false }) q.DescriptorTable = High(q.DescriptorTable, v); break;
            case RegQueueDriverLow: if (q is { Ready: false }) q.DriverArea = Low(q.DriverArea, v); break;
            case RegQueueDriverHigh: if (q is { Ready: false }) q.DriverArea = High(q.DriverArea, v); break;
            case RegQueueDeviceLow: if (q is { Ready: false }) q.DeviceArea = Low(q.DeviceArea, v); break;
            case RegQueueDeviceHigh: if (q is { Ready: false }) q.DeviceArea = High(q.DeviceArea, v); break;
            case RegShmSel: break;
        }

        static ulong Low(ulong old, uint v) => (old & ~0xffff_ffffUL) | v;
        static ulong High(ulong old, uint v) => (old & 0xffff_ffffUL) | ((ulong)v << 32);
    }

    private void WriteStatus(uint v)
    {
        if (v == 0)
        {
            ResetLocked();
            return;
        }
        if ((v & StatusFeaturesOk) != 0 && (_status & StatusFeaturesOk) == 0)
        {
            // Accept only a subset of what was offered. A driver that never writes the high word
            // (xv6 writes only the low 32 bits) has not accepted VIRTIO_F_VERSION_1; the spec lets
            // a device refuse it, but QEMU serves it with the modern interface, and so does this one.
            bool acceptable = (_driverFeatures & ~DeviceFeatures) == 0;
            if (!acceptable) v &= ~StatusFeaturesOk;
        }
        bool activate = (v & StatusDriverOk) != 0 && (_status & StatusDriverOk) == 0 && (v & StatusFeaturesOk) != 0;
        _status = v;
        if (activate)
        {
            bool eventIndex = (_driverFeatures & VirtioFeatures.EventIndex) != 0;
            foreach (var q in _queues) q.EventIndex = eventIndex;
            Guard(() => _device.Activate(this));
        }
    }

    private void Notify(uint queue)
    {
        if ((_status & StatusDriverOk) == 0 || (_status & StatusNeedsReset) != 0 || queue >= _queues.Length || !_queues[queue].Ready) return;
        Guard(() => _device.Notify((int)queue));
    }

    /// <summary>Lets the device deliver host-side events; called from the machine's loop.</summary>
    public void Poll()
    {
        lock (_lock)
        {
            if ((_status & StatusDriverOk) == 0 || (_status & StatusNeedsReset) != 0) return;
            Guard(_device.Poll);
        }
    }

    /// <summary>A malformed ring or chain puts the device in DEVICE_NEEDS_RESET, as the spec asks.</summary>
    private void Guard(Action action)
    {
        try
        {
            action();
        }
        catch (VirtioException)
        {
            _status |= StatusNeedsReset;
            SignalConfigChange();
        }
    }

    /// <summary>
    /// The transport's state and its queues', for snapshots. Device models keep no guest-visible
    /// state beyond their host resources (an image file, a socket) except what they save through
    /// <see cref="ISnapshotState"/> (virtio-console's undelivered input); frames that arrived from
    /// the network but were not yet given to the guest are not saved, as if lost on the wire.
    /// </summary>
    public VirtioMmioState Save()
    {
        lock (_lock)
            return new(_device.DeviceId, _status, _driverFeatures, _deviceFeaturesSel, _driverFeaturesSel, _queueSel,
                _interruptStatus, _configGeneration, [.. _queues.Select(q => q.Save())]);
    }

    /// <summary>Resumes a saved transport: the same device kind, its queues, and an active device if the driver had one.</summary>
    public void Restore(VirtioMmioState state)
    {
        lock (_lock)
        {
            if (state.DeviceId != _device.DeviceId || state.Queues.Length != _queues.Length)
                throw new VirtioException($"a saved {state.DeviceId} device with {state.Queues.Length} queues does not fit {_device.Name}");
            if ((state.DriverFeatures & ~DeviceFeatures) != 0)
                throw new VirtioException($"saved features 0x{state.DriverFeatures:x} were not all offered by {_device.Name}");
            _device.Reset();
            for (int i = 0; i < _queues.Length; i++) _queues[i].Restore(state.Queues[i]);
            (_status, _driverFeatures, _deviceFeaturesSel, _driverFeaturesSel, _queueSel, _interruptStatus, _configGeneration) =
                (state.Status, state.DriverFeatures, state.DeviceFeaturesSel, state.DriverFeaturesSel, state.QueueSel,
                 state.InterruptStatus, state.ConfigGeneration);
            if ((_status & StatusDriverOk) != 0 && (_status & StatusFeaturesOk) != 0) _device.Activate(this);
            UpdateInterrupt();
        }
    }

    /// <summary>Bytes of the device's configuration space a snapshot records, to tell a changed device (a resized disk image) on restore.</summary>
    private const int SavedConfigBytes = 64;

    /// <summary>
    /// Saves the transport and its queues (<see cref="Save()"/>), the device's configuration space
    /// as the driver sees it, and the device's own state when it has any (<see cref="ISnapshotState"/>).
    /// Device models serve each notification completely before returning, so no request is ever
    /// half-done between two instructions.
    /// </summary>
    public void Save(SnapshotWriter w)
    {
        var s = Save();
        w.WriteUInt32((uint)s.DeviceId);
        foreach (uint v in (ReadOnlySpan<uint>)[s.Status, s.DeviceFeaturesSel, s.DriverFeaturesSel, s.QueueSel, s.InterruptStatus, s.ConfigGeneration])
            w.WriteUInt32(v);
        w.WriteUInt64(s.DriverFeatures);
        w.WriteInt32(s.Queues.Length);
        foreach (var q in s.Queues)
        {
            w.WriteUInt16(q.Size);
            w.WriteBool(q.Ready);
            w.WriteUInt64(q.DescriptorTable);
            w.WriteUInt64(q.DriverArea);
            w.WriteUInt64(q.DeviceArea);
            w.WriteBool(q.EventIndex);
            w.WriteUInt16(q.NextAvail);
            w.WriteUInt16(q.NextUsed);
            w.WriteUInt16(q.SignalledUsed);
        }
        w.WriteBytes(ConfigSpace());
        lock (_lock)
        {
            w.WriteBool(_device is ISnapshotState);
            if (_device is ISnapshotState device) device.Save(w);
        }
    }

    public void Restore(SnapshotReader r)
    {
        var id = (VirtioDeviceId)r.ReadUInt32();
        uint status = r.ReadUInt32(), deviceFeaturesSel = r.ReadUInt32(), driverFeaturesSel = r.ReadUInt32(), queueSel = r.ReadUInt32(),
            interruptStatus = r.ReadUInt32(), configGeneration = r.ReadUInt32();
        ulong driverFeatures = r.ReadUInt64();
        var queues = new VirtqueueState[r.ReadCount(64, "queues")];
        for (int i = 0; i < queues.Length; i++)
            queues[i] = new VirtqueueState(r.ReadUInt16(), r.ReadBool(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadBool(),
                r.ReadUInt16(), r.ReadUInt16(), r.ReadUInt16());
        var config = r.ReadBytes(SavedConfigBytes);
        if (id != _device.DeviceId) throw r.Error($"a saved {id} device does not fit {_device.Name}");
        if (!config.AsSpan().SequenceEqual(ConfigSpace()))
            throw r.Error($"the {_device.Name} device's configuration differs from the snapshot's (a disk image of another size?)");
        try
        {
            Restore(new VirtioMmioState(id, status, driverFeatures, deviceFeaturesSel, driverFeaturesSel, queueSel, interruptStatus,
                configGeneration, queues));
        }
        catch (VirtioException e)
        {
            throw r.Error(e.Message);
        }
        bool hasDeviceState = r.ReadBool();
        lock (_lock)
        {
            if (hasDeviceState != _device is ISnapshotState) throw r.Error($"the saved {_device.Name} device state does not fit this one");
            if (_device is ISnapshotState device) device.Restore(r);
        }
        r.ExpectEnd();
    }

    private byte[] ConfigSpace()
    {
        var config = new byte[SavedConfigBytes];
        lock (_lock) _device.ReadConfig(0, config);
        return config;
    }

    /// <summary>Resets the transport and the device, as a write of 0 to the status register does.</summary>
    public void Reset()
    {
        lock (_lock) ResetLocked();
    }

    private void ResetLocked()
    {
        _status = 0;
        _driverFeatures = 0;
        _deviceFeaturesSel = _driverFeaturesSel = _queueSel = 0;
        foreach (var q in _queues) q.Reset();
        _device.Reset();
        _interruptStatus = 0;
        UpdateInterrupt();
    }

    public void SignalUsed(int queue)
    {
        if (!_queues[queue].NeedsInterrupt()) return;
        _interruptStatus |= InterruptUsedBuffer;
        UpdateInterrupt();
    }

    public void SignalConfigChange()
    {
        _configGeneration++;
        _interruptStatus |= InterruptConfigChange;
        UpdateInterrupt();
    }

    private void UpdateInterrupt() => _irq.Set(_interruptStatus != 0);

    public void Dispose() => _device.Dispose();
}
