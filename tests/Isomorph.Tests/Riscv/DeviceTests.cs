using Isomorph.Devices.Bus;
using Isomorph.Devices.Clint;
using Isomorph.Devices.Htif;

namespace Isomorph.Tests.Riscv;

/// <summary>The bus and the bare machine's devices, driven directly.</summary>
public sealed class DeviceTests
{
    [Fact]
    public void TheBusFindsDevicesBeforeRamAndRejectsOverlaps()
    {
        var bus = new PhysicalBus();
        using var ram = bus.AddRam(0x8000_0000, 0x10000);
        var htif = new Htif();
        bus.AddDevice(0x8000_1000, htif.ToHostWindow);
        Assert.True(bus.IsPlainRamPage(0x8000_0000));
        Assert.False(bus.IsPlainRamPage(0x8000_1000));
        Assert.False(bus.IsPlainRamPage(0x7000_0000));
        Assert.True(bus.TryFindDevice(0x8000_1004, out var m));
        Assert.Equal("htif.tohost", m.Device.Name);
        Assert.Throws<ArgumentException>(() => bus.AddDevice(0x8000_1004, htif.FromHostWindow));
        Assert.Throws<ArgumentException>(() => bus.AddRam(0x8000_8000, 0x10000));
        Assert.False(bus.TryRead(0x1000, 4, out _));
    }

    [Fact]
    public void HtifExitsPrintsAndAnswers()
    {
        var htif = new Htif();
        int? exit = null;
        var printed = new List<byte>();
        htif.Exited += c => exit = c;
        htif.ConsoleOutput += printed.Add;
        htif.ToHostWindow.Write(0, 8, (1ul << 56) | (1ul << 48) | 'A');
        Assert.Equal("A"u8.ToArray(), printed);
        Assert.Equal(0ul, htif.ToHostWindow.Read(0, 8));
        Assert.Equal((1ul << 56) | (1ul << 48) | 0x100 | 'A', htif.FromHostWindow.Read(0, 8));
        // A 32-bit guest writes the low half first: nothing happens until the high half arrives.
        htif.ToHostWindow.Write(0, 4, (42 << 1) | 1);
        htif.ToHostWindow.Write(4, 4, 0);
        Assert.Equal(42, exit);
    }

    [Fact]
    public void ClintDrivesSoftwareAndTimerLines()
    {
        ulong now = 100;
        var msip = new bool[2];
        var mtip = new bool[2];
        var clint = new Clint(2, () => now, (h, on) => msip[h] = on, (h, on) => mtip[h] = on);
        clint.Write(Clint.MsipBase + 4, 4, 1);
        Assert.Equal([false, true], msip);
        Assert.Equal(1ul << 32, clint.Read(0, 8));
        clint.Write(Clint.MtimecmpBase, 8, 150);
        Assert.False(mtip[0]);
        now = 150;
        clint.Update();
        Assert.True(mtip[0]);
        Assert.False(mtip[1]);
        Assert.Equal(150ul, clint.Read(Clint.MtimeOffset, 8));
        clint.Write(Clint.MtimeOffset, 8, 10);                // software may set mtime
        Assert.Equal(10ul, clint.Mtime);
        Assert.False(mtip[0]);
        Assert.Equal(150ul, clint.NextDeadline);
    }
}
