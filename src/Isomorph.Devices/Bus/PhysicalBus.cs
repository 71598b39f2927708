namespace Isomorph.Devices.Bus;

/// <summary>
/// The physical address map: RAM regions and device windows. A device window may overlay RAM
/// (as HTIF's tohost does); devices are found first. Pages that hold any device window are never
/// treated as plain RAM, so CPU fast paths never bypass a device.
/// </summary>
public sealed class PhysicalBus
{
    public readonly record struct Mapping(ulong Base, IMmioDevice Device)
    {
        public ulong End => Base + Device.Size;
    }

    private readonly List<Ram> _rams = [];
    private Mapping[] _devices = [];

    public IReadOnlyList<Ram> Rams => _rams;
    public IReadOnlyList<Mapping> Devices => _devices;

    private long[] _accessCounts = [];

    /// <summary>
    /// When set, every device access holds this lock: a machine whose harts run on several host
    /// threads sets it so that device models, written for one caller at a time, see one at a time.
    /// RAM accesses never take it.
    /// </summary>
    public object? DeviceLock { get; set; }

    /// <summary>Counts of MMIO accesses per device, by device name (counted safely from any thread).</summary>
    public IReadOnlyDictionary<string, long> AccessCounts
    {
        get
        {
            var counts = new Dictionary<string, long>();
            var devices = _devices;
            for (int i = 0; i < devices.Length; i++)
                counts[devices[i].Device.Name] = counts.GetValueOrDefault(devices[i].Device.Name) + Volatile.Read(ref _accessCounts[i]);
            return counts;
        }
    }

    public Ram AddRam(ulong @base, ulong size)
    {
        var ram = new Ram(@base, size);
        foreach (var r in _rams)
            if (@base < r.End && r.Base < ram.End) throw new ArgumentException($"RAM at {@base:x} overlaps RAM at {r.Base:x}");
        _rams.Add(ram);
        return ram;
    }

    public void AddDevice(ulong @base, IMmioDevice device)
    {
        var m = new Mapping(@base, device);
        foreach (var d in _devices)
            if (m.Base < d.End && d.Base < m.End)
                throw new ArgumentException($"device {device.Name} at {@base:x} overlaps {d.Device.Name} at {d.Base:x}");
        var devices = (Mapping[])[.. _devices, m];
        Array.Sort(devices, (a, b) => a.Base.CompareTo(b.Base));
        _accessCounts = new long[devices.Length];
        _devices = devices;
    }

    /// <summary>Adds RAM created elsewhere (e.g. over borrowed host memory).</summary>
    public Ram AddRam(Ram ram)
    {
        foreach (var r in _rams)
            if (ram.Base < r.End && r.Base < ram.End) throw new ArgumentException($"RAM at {ram.Base:x} overlaps RAM at {r.Base:x}");
        _rams.Add(ram);
        return ram;
    }

    /// <summary>The RAM holding <paramref name="address"/>, or null.</summary>
    public Ram? FindRam(ulong address)
    {
        foreach (var r in _rams)
            if (r.Contains(address)) return r;
        return null;
    }

    /// <summary>The device window holding <paramref name="address"/>, or null.</summary>
    public bool TryFindDevice(ulong address, out Mapping mapping)
    {
        int i = IndexOfDevice(address);
        mapping = i >= 0 ? _devices[i] : default;
        return i >= 0;
    }

    private int IndexOfDevice(ulong address)
    {
        var ds = _devices;
        int lo = 0, hi = ds.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >> 1;
            if (address < ds[mid].Base) hi = mid - 1;
            else if (address >= ds[mid].End) lo = mid + 1;
            else return mid;
        }
        return -1;
    }

    /// <summary>True when the whole 4 KiB page at <paramref name="pageAddress"/> is RAM with no device overlay.</summary>
    public bool IsPlainRamPage(ulong pageAddress)
    {
        if (FindRam(pageAddress) is not { } ram || !ram.Contains(pageAddress, Ram.PageSize)) return false;
        foreach (var d in _devices)
            if (d.Base < pageAddress + Ram.PageSize && pageAddress < d.End) return false;
        return true;
    }

    /// <summary>A device read; false when no device or RAM answers at <paramref name="address"/>.</summary>
    public unsafe bool TryRead(ulong address, int size, out ulong value)
    {
        int d = IndexOfDevice(address);
        if (d >= 0 && address + (ulong)size <= _devices[d].End)
        {
            var m = _devices[d];
            Interlocked.Increment(ref _accessCounts[d]);
            if (DeviceLock is { } gate)
                lock (gate) value = m.Device.Read(address - m.Base, size);
            else
                value = m.Device.Read(address - m.Base, size);
            return true;
        }
        if (FindRam(address) is { } ram && ram.Contains(address, (ulong)size))
        {
            byte* p = ram.HostAddress(address);
            value = size switch { 1 => *p, 2 => *(ushort*)p, 4 => *(uint*)p, _ => *(ulong*)p };
            return true;
        }
        value = 0;
        return false;
    }

    /// <summary>A device write; false when no device or RAM answers at <paramref name="address"/>.</summary>
    public unsafe bool TryWrite(ulong address, int size, ulong value)
    {
        int d = IndexOfDevice(address);
        if (d >= 0 && address + (ulong)size <= _devices[d].End)
        {
            var m = _devices[d];
            Interlocked.Increment(ref _accessCounts[d]);
            if (DeviceLock is { } gate)
                lock (gate) m.Device.Write(address - m.Base, size, value);
            else
                m.Device.Write(address - m.Base, size, value);
            return true;
        }
        if (FindRam(address) is { } ram && ram.Contains(address, (ulong)size))
        {
            byte* p = ram.HostAddress(address);
            switch (size)
            {
                case 1: *p = (byte)value; break;
                case 2: *(ushort*)p = (ushort)value; break;
                case 4: *(uint*)p = (uint)value; break;
                default: *(ulong*)p = value; break;
            }
            ram.MarkWritten(address, (ulong)size);
            return true;
        }
        return false;
    }
}
