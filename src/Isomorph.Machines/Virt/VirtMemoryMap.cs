namespace Isomorph.Machines.Virt;

/// <summary>The physical memory map and interrupt numbers of QEMU's RISC-V <c>virt</c> board.</summary>
public static class VirtMemoryMap
{
    public const ulong TestBase = 0x10_0000, TestSize = 0x1000;
    public const ulong RtcBase = 0x10_1000, RtcSize = 0x1000;
    public const ulong ClintBase = 0x200_0000, ClintSize = 0x1_0000;
    public const ulong PlicBase = 0xC00_0000, PlicSize = 0x60_0000;
    public const ulong UartBase = 0x1000_0000, UartSize = 0x100;
    public const ulong VirtioBase = 0x1000_1000, VirtioStride = 0x1000;
    public const int VirtioSlots = 8;
    public const ulong RamBase = 0x8000_0000;

    /// <summary>Where the kernel goes when firmware runs first (OpenSBI's FW_JUMP/next address convention).</summary>
    public const ulong KernelOffset = 0x20_0000;

    public const int UartIrq = 10, RtcIrq = 11, VirtioIrqBase = 1;
    /// <summary>The number of PLIC sources (as QEMU's virt: 95).</summary>
    public const int PlicSources = 95;

    /// <summary>mtime frequency (timebase-frequency): 10 MHz.</summary>
    public const uint TimebaseFrequency = 10_000_000;

    /// <summary>The UART's input clock, as QEMU reports it (3.6864 MHz).</summary>
    public const uint UartClock = 3_686_400;
}
