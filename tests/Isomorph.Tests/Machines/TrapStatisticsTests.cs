using Isomorph.Machines.Virt;
using Isomorph.Riscv;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Trap statistics: SBI extension ids named as the SBI specification numbers them, and counts that
/// match what a guest did — OpenSBI running an S-mode payload that makes a known number of SBI calls.
/// </summary>
public class TrapStatisticsTests
{
    [Fact]
    public void SbiExtensionIds_MapToTheirExtension_AndUnlistedIdsToUnknown()
    {
        var all = SbiExtensions.All;
        for (int i = 0; i < all.Count - 1; i++)
        {
            Assert.Equal(i, SbiExtensions.IndexOf(all[i].FirstId));
            Assert.Equal(i, SbiExtensions.IndexOf(all[i].LastId));
            Assert.Equal(i, SbiExtensions.IndexOf(all[i].FirstId + (all[i].LastId - all[i].FirstId) / 2));
        }
        // EIDs spelling their names in ASCII, as the spec defines them.
        Assert.Equal("TIME", all[SbiExtensions.IndexOf(Ascii("TIME"))].Name);
        Assert.Equal("IPI", all[SbiExtensions.IndexOf(Ascii("sPI"))].Name);
        Assert.Equal("RFENCE", all[SbiExtensions.IndexOf(Ascii("RFNC"))].Name);
        Assert.Equal("HSM", all[SbiExtensions.IndexOf(Ascii("HSM"))].Name);
        Assert.Equal("SRST", all[SbiExtensions.IndexOf(Ascii("SRST"))].Name);
        Assert.Equal("DBCN", all[SbiExtensions.IndexOf(Ascii("DBCN"))].Name);
        // a7 holds a 32-bit EID sign-extended to 64 bits.
        Assert.Equal("SRST", all[SbiExtensions.IndexOf(0xFFFF_FFFF_0000_0000 | Ascii("SRST"))].Name);
        var random = new Random(4);
        for (int n = 0; n < 10_000; n++)
        {
            ulong eid = (ulong)random.NextInt64(0, 1L << 32);
            int expected = all.Take(all.Count - 1).ToList().FindIndex(e => eid >= e.FirstId && eid <= e.LastId);
            Assert.Equal(expected < 0 ? all.Count - 1 : expected, SbiExtensions.IndexOf(eid));
        }

        static ulong Ascii(string name) => name.Aggregate(0ul, (v, c) => v << 8 | c);
    }

    [Fact]
    public void OpenSbiPayload_CountsEachSbiCall_ByExtension()
    {
        // One legacy console_putchar per character, then one SRST system_reset.
        string message = new('z', new Random().Next(3, 40));
        var kernel = Path.Combine(Path.GetTempPath(), $"isomorph-stats-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(kernel, VirtMachineTests.SbiHelloPayload(message));
        try
        {
            using var machine = new VirtMachine(new VirtOptions { Kernel = kernel, MaxInstructions = 200_000_000 });
            var result = VirtMachineTests.RunWithTimeout(machine, TimeSpan.FromSeconds(60));
            Assert.Equal(VirtStop.PowerOff, result.Stop);

            var stats = machine.Statistics();
            var sbi = stats.Traps.SbiCalls.ToDictionary(c => c.Extension.Name, c => c.Count);
            Assert.Equal(2, sbi.Count);
            Assert.Equal(message.Length, sbi["legacy console_putchar"]);
            Assert.Equal(1, sbi["SRST"]);
            var ecalls = stats.Traps.Traps.Where(t => t.Cause == (ulong)ExceptionCause.EnvironmentCallFromS).ToList();
            var only = Assert.Single(ecalls);
            Assert.Equal((PrivilegeMode.Supervisor, (PrivilegeMode?)PrivilegeMode.Machine, message.Length + 1L), (only.From, only.To, only.Count));
            // OpenSBI does not delegate ecalls from S-mode: none reaches S-mode, and no trap is handled by the host.
            Assert.DoesNotContain(stats.Traps.Traps, t => t.To is null);
            Assert.Equal(result.Instructions, stats.Instructions);
            Assert.True(stats.WallTime > TimeSpan.Zero && stats.Mips > 0);
            Assert.Contains(stats.Mmio, m => m.Device.Contains("uart", StringComparison.OrdinalIgnoreCase) && m.Accesses > 0);
        }
        finally
        {
            File.Delete(kernel);
        }
    }
}
