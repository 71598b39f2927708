using Isomorph.Devices.Fdt;
using static Isomorph.Machines.Virt.VirtMemoryMap;

namespace Isomorph.Machines.Virt;

/// <summary>What the device tree of a virt machine describes.</summary>
public sealed record VirtDeviceTreeConfig
{
    public int Harts { get; init; } = 1;
    public ulong MemorySize { get; init; }
    public string BootArgs { get; init; } = "";
    public (ulong Start, ulong End)? Initrd { get; init; }
    public string Isa { get; init; } = VirtDeviceTree.DefaultIsa;
    public string MmuType { get; init; } = "riscv,sv48";
    /// <summary>How many virtio-mmio slots hold a device (from the first); empty slots are not described.</summary>
    public int VirtioSlots { get; init; }
}

/// <summary>Builds the flattened device tree of a virt machine, in the shape QEMU gives it.</summary>
public static class VirtDeviceTree
{
    public const string DefaultIsa = "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc";
    /// <summary>The ISA string of harts with the hypervisor extension (software such as Xvisor and Linux's KVM finds H here).</summary>
    public const string HypervisorIsa = "rv64imafdch_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc";
    public const string UartPath = "/soc/serial@10000000";

    // Interrupt numbers in the harts' local interrupt controllers (mip bits).
    private const uint MachineSoftware = 3, MachineTimer = 7, SupervisorExternal = 9, MachineExternal = 11;

    public static byte[] Build(VirtDeviceTreeConfig config)
    {
        var fdt = new FdtWriter();
        uint[] cpuPhandles = new uint[config.Harts], intcPhandles = new uint[config.Harts];
        for (int h = 0; h < config.Harts; h++)
        {
            cpuPhandles[h] = fdt.AllocatePhandle();
            intcPhandles[h] = fdt.AllocatePhandle();
        }
        uint plicPhandle = fdt.AllocatePhandle(), testPhandle = fdt.AllocatePhandle();

        fdt.BeginNode("")
            .Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Property("compatible", "riscv-virtio")
            .Property("model", "riscv-virtio,isomorph");

        fdt.BeginNode("chosen");
        fdt.Property("bootargs", config.BootArgs);
        fdt.Property("stdout-path", UartPath);
        if (config.Initrd is var (start, end))
        {
            fdt.Cells64("linux,initrd-start", start);
            fdt.Cells64("linux,initrd-end", end);
        }
        fdt.EndNode();

        fdt.BeginNode($"memory@{RamBase:x}")
            .Property("device_type", "memory")
            .Cells64("reg", RamBase, config.MemorySize)
            .EndNode();

        fdt.BeginNode("cpus")
            .Cells("#address-cells", 1).Cells("#size-cells", 0)
            .Cells("timebase-frequency", TimebaseFrequency);
        for (int h = 0; h < config.Harts; h++)
        {
            fdt.BeginNode($"cpu@{h:x}")
                .Cells("phandle", cpuPhandles[h])
                .Property("device_type", "cpu")
                .Cells("reg", (uint)h)
                .Property("status", "okay")
                .Property("compatible", "riscv")
                .Property("riscv,isa", config.Isa)
                .Property("mmu-type", config.MmuType);
            fdt.BeginNode("interrupt-controller")
                .Cells("#interrupt-cells", 1)
                .Property("interrupt-controller")
                .Property("compatible", "riscv,cpu-intc")
                .Cells("phandle", intcPhandles[h])
                .EndNode();
            fdt.EndNode();
        }
        fdt.BeginNode("cpu-map").BeginNode("cluster0");
        for (int h = 0; h < config.Harts; h++)
            fdt.BeginNode($"core{h}").Cells("cpu", cpuPhandles[h]).EndNode();
        fdt.EndNode().EndNode();
        fdt.EndNode(); // cpus

        fdt.BeginNode("poweroff")
            .Cells("value", 0x5555).Cells("offset", 0).Cells("regmap", testPhandle)
            .Property("compatible", "syscon-poweroff").EndNode();
        fdt.BeginNode("reboot")
            .Cells("value", 0x7777).Cells("offset", 0).Cells("regmap", testPhandle)
            .Property("compatible", "syscon-reboot").EndNode();

        fdt.BeginNode("soc")
            .Cells("#address-cells", 2).Cells("#size-cells", 2)
            .Property("compatible", "simple-bus")
            .Property("ranges");

        fdt.BeginNode($"rtc@{RtcBase:x}")
            .Cells("interrupts", RtcIrq).Cells("interrupt-parent", plicPhandle)
            .Cells64("reg", RtcBase, RtcSize)
            .Property("compatible", "google,goldfish-rtc").EndNode();

        fdt.BeginNode($"serial@{UartBase:x}")
            .Cells("interrupts", UartIrq).Cells("interrupt-parent", plicPhandle)
            .Cells("clock-frequency", UartClock)
            .Cells64("reg", UartBase, UartSize)
            .Property("compatible", "ns16550a").EndNode();

        for (int i = 0; i < config.VirtioSlots; i++)
        {
            ulong address = VirtioBase + (ulong)i * VirtioStride;
            fdt.BeginNode($"virtio_mmio@{address:x}")
                .Cells("interrupts", (uint)(VirtioIrqBase + i)).Cells("interrupt-parent", plicPhandle)
                .Cells64("reg", address, VirtioStride)
                .Property("compatible", "virtio,mmio").EndNode();
        }

        fdt.BeginNode($"test@{TestBase:x}")
            .Cells("phandle", testPhandle)
            .Cells64("reg", TestBase, TestSize)
            .Property("compatible", "sifive,test1", "sifive,test0", "syscon").EndNode();

        var plicInterrupts = new List<uint>();
        var clintInterrupts = new List<uint>();
        for (int h = 0; h < config.Harts; h++)
        {
            plicInterrupts.AddRange([intcPhandles[h], MachineExternal, intcPhandles[h], SupervisorExternal]);
            clintInterrupts.AddRange([intcPhandles[h], MachineSoftware, intcPhandles[h], MachineTimer]);
        }
        fdt.BeginNode($"plic@{PlicBase:x}")
            .Cells("phandle", plicPhandle)
            .Cells("riscv,ndev", PlicSources)
            .Cells64("reg", PlicBase, PlicSize)
            .Cells("interrupts-extended", [.. plicInterrupts])
            .Property("interrupt-controller")
            .Property("compatible", "sifive,plic-1.0.0", "riscv,plic0")
            .Cells("#address-cells", 0)
            .Cells("#interrupt-cells", 1).EndNode();

        fdt.BeginNode($"clint@{ClintBase:x}")
            .Cells("interrupts-extended", [.. clintInterrupts])
            .Cells64("reg", ClintBase, ClintSize)
            .Property("compatible", "sifive,clint0", "riscv,clint0").EndNode();

        fdt.EndNode(); // soc
        fdt.EndNode(); // root
        return fdt.Finish();
    }
}
