using Isomorph.Devices.Bus;
using Isomorph.Riscv;

namespace Isomorph.Tests.Machines;

/// <summary>
/// A core bug found booting Linux on the virt machine: OpenSBI sets mip.STIP with csrs while the
/// PLIC asserts SEIP; the read-modify-write used to copy the external SEIP line into the software
/// SEIP bit, leaving a supervisor external interrupt pending forever (an interrupt storm).
/// </summary>
public class MipReadModifyWriteTests
{
    [Fact]
    public void CsrsOnMip_DoesNotLatchTheExternalSeipLine()
    {
        var bus = new PhysicalBus();
        using var ram = bus.AddRam(0x8000_0000, 1 << 16);
        using var hart = new Hart(bus);
        uint[] code =
        [
            0x0200_0293,                                  // li t0, 32 (STIP)
            0x344u << 20 | 5 << 15 | 2 << 12 | 0x73,      // csrs mip, t0
            0x344u << 20 | 2 << 12 | 6 << 7 | 0x73,       // csrr t1, mip
        ];
        for (int k = 0; k < code.Length; k++) BitConverter.GetBytes(code[k]).CopyTo(ram.Span(0x8000_0000 + (ulong)k * 4, 4));
        hart.Pc = 0x8000_0000;
        hart.SetInterruptPending(InterruptCause.SupervisorExternal, true);
        hart.Run(2);
        hart.SetInterruptPending(InterruptCause.SupervisorExternal, false);
        hart.Run(1);
        Assert.Equal(1ul << 5, hart.GetX(6)); // STIP set by software; SEIP gone with the line
    }
}
