using System.Text;
using Isomorph.Machines;
using Isomorph.Machines.Virt;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The virt machine with Debian's OpenSBI (fw_dynamic): the firmware's banner on the UART, an
/// S-mode payload that prints through the SBI and powers off through SBI system reset (which
/// OpenSBI carries out with the SiFive test device), and bad input.
/// </summary>
public class VirtMachineTests
{
    public static string Firmware => VirtOptions.DefaultFirmware;

    /// <summary>
    /// A raw S-mode program: prints a message with the legacy SBI console putchar, then asks the
    /// SBI system reset extension for a shutdown.
    /// </summary>
    public static byte[] SbiHelloPayload(string message)
    {
        const int s0 = 8, a0 = 10, a1 = 11, a6 = 16, a7 = 17;
        uint[] code =
        [
            /* 0  */ UType(0x17, s0, 0),                   // auipc s0, 0
            /* 4  */ IType(0x13, 0, s0, s0, 60),            // addi s0, s0, message
            /* 8  */ IType(0x03, 4, a0, s0, 0),             // loop: lbu a0, 0(s0)
            /* 12 */ BType(0, a0, 0, 20),                   // beqz a0, done
            /* 16 */ IType(0x13, 0, a7, 0, 1),              // li a7, 1 (legacy putchar)
            /* 20 */ 0x0000_0073,                           // ecall
            /* 24 */ IType(0x13, 0, s0, s0, 1),             // addi s0, s0, 1
            /* 28 */ JType(0, -20),                         // j loop
            /* 32 */ UType(0x37, a7, 0x53525),              // done: lui a7, 0x53525
            /* 36 */ IType(0x1B, 0, a7, a7, 0x354),         // addiw a7, a7, 0x354 (SRST)
            /* 40 */ IType(0x13, 0, a6, 0, 0),              // li a6, 0 (system_reset)
            /* 44 */ IType(0x13, 0, a0, 0, 0),              // li a0, 0 (shutdown)
            /* 48 */ IType(0x13, 0, a1, 0, 0),              // li a1, 0 (no reason)
            /* 52 */ 0x0000_0073,                           // ecall
            /* 56 */ JType(0, 0),                           // j .
        ];
        var bytes = new List<byte>();
        foreach (var word in code) bytes.AddRange(BitConverter.GetBytes(word));
        bytes.AddRange(Encoding.ASCII.GetBytes(message));
        bytes.Add(0);
        return [.. bytes];

        static uint IType(uint opcode, uint funct3, int rd, int rs1, int imm) =>
            ((uint)imm & 0xFFF) << 20 | (uint)rs1 << 15 | funct3 << 12 | (uint)rd << 7 | opcode;
        static uint UType(uint opcode, int rd, uint imm20) => imm20 << 12 | (uint)rd << 7 | opcode;
        static uint BType(uint funct3, int rs1, int rs2, int off) =>
            ((uint)(off >> 12) & 1) << 31 | ((uint)(off >> 5) & 0x3F) << 25 | (uint)rs2 << 20 | (uint)rs1 << 15
            | funct3 << 12 | ((uint)(off >> 1) & 0xF) << 8 | ((uint)(off >> 11) & 1) << 7 | 0x63;
        static uint JType(int rd, int off) =>
            ((uint)(off >> 20) & 1) << 31 | ((uint)(off >> 1) & 0x3FF) << 21 | ((uint)(off >> 11) & 1) << 20
            | ((uint)(off >> 12) & 0xFF) << 12 | (uint)rd << 7 | 0x6F;
    }

    /// <summary>Runs the machine, stopping it when it has not finished in <paramref name="timeout"/>.</summary>
    public static VirtResult RunWithTimeout(VirtMachine machine, TimeSpan timeout)
    {
        VirtResult? result = null;
        var runner = new Thread(() => result = machine.Run()) { IsBackground = true };
        runner.Start();
        if (!runner.Join(timeout))
        {
            machine.Stop();
            runner.Join();
        }
        return result!;
    }

    private static string WriteTemp(byte[] bytes)
    {
        var path = Path.Combine(Path.GetTempPath(), $"isomorph-virt-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// A machine disposed while its harts store into RAM on another thread (dirty-writer, translated
    /// under the jit): the run is stopped and waited for before RAM is unmapped. Before, the harts
    /// went on storing into the freed mapping and the host process died of an access violation.
    /// </summary>
    [Theory]
    [InlineData("jit")]
    [InlineData("interp")]
    public void DisposingARunningMachine_StopsItFirst(string engine)
    {
        var machine = new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = Support.GuestPrograms.Path("virt/dirty-writer.elf"), MemorySize = 16ul << 20, Harts = 2, HostThreads = 2,
            Engine = Isomorph.Riscv.Execution.ExecutionEngines.FromName(engine),
        });
        VirtResult? result = null;
        var runner = new Thread(() => result = machine.Run()) { IsBackground = true };
        runner.Start();
        while (machine.Instructions < 20_000_000) Thread.Sleep(5);
        machine.Dispose();
        Assert.True(runner.Join(TimeSpan.FromSeconds(30)));
        Assert.Equal(VirtStop.Stopped, result?.Stop);
    }

    [Fact]
    public void OpenSbi_PrintsBanner_RunsSModePayload_AndPowersOff()
    {
        Assert.True(File.Exists(Firmware), $"{Firmware} is missing: install Debian's opensbi package");
        var kernel = WriteTemp(SbiHelloPayload("Hello from S-mode\n"));
        try
        {
            var console = new ConsoleCapture();
            using var machine = new VirtMachine(new VirtOptions { Kernel = kernel, Console = console, MaxInstructions = 200_000_000 });
            var result = RunWithTimeout(machine, TimeSpan.FromSeconds(60));
            string text = console.Text;
            Assert.True(result.Stop == VirtStop.PowerOff, $"{result.Stop}: {result.Message}\n{text}");
            Assert.Equal(0, result.ExitCode);
            Assert.Contains("OpenSBI v", text);
            Assert.Contains("Platform Name             : riscv-virtio,isomorph", text);
            Assert.Contains("Platform Console Device   : uart8250", text);
            Assert.Contains("Platform Shutdown Device  : sifive_test", text);
            Assert.Contains("Domain0 Next Address      : 0x0000000080200000", text);
            Assert.Contains("Domain0 Next Mode         : S-mode", text);
            Assert.EndsWith("Hello from S-mode\r\n", text); // OpenSBI's console adds the carriage return
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    [Fact]
    public void FirmwareNone_RunsTheKernelInMachineMode_AtRamBase()
    {
        // With no firmware, the payload's SBI calls trap to its own (missing) M-mode handler: it
        // runs from RAM base in M-mode with a0 = hartid and a1 = the DTB.
        var kernel = WriteTemp(SbiHelloPayload("x"));
        try
        {
            using var machine = new VirtMachine(new VirtOptions { Kernel = kernel, Firmware = null, MaxInstructions = 1000 });
            Assert.Equal(VirtMemoryMap.RamBase, machine.Harts[0].Pc);
            Assert.Equal(machine.DtbAddress, machine.Harts[0].GetX(11));
            Assert.Equal(0ul, machine.Harts[0].GetX(10));
            Assert.Equal(Isomorph.Riscv.PrivilegeLevel.Machine, machine.Harts[0].Privilege);
            Assert.Equal(FdtReaderMagic, BitConverter.ToUInt32(machine.Ram.Span(machine.DtbAddress, 4)));
        }
        finally
        {
            File.Delete(kernel);
        }
    }

    private const uint FdtReaderMagic = 0xEDFE0DD0; // 0xD00DFEED read little-endian

    [Fact]
    public void Initrd_IsPlacedHighInRam_AndNamedInChosen()
    {
        var kernel = WriteTemp(SbiHelloPayload("x"));
        var initrd = WriteTemp(new byte[10_000]);
        try
        {
            using var machine = new VirtMachine(new VirtOptions { Kernel = kernel, Initrd = initrd, MemorySize = 64ul << 20 });
            var (start, end) = machine.InitrdRange!.Value;
            Assert.Equal(10_000ul, end - start);
            Assert.True(start > machine.KernelAddress && end <= machine.FwDynamicInfoAddress);
            var p = FdtReader.Parse(machine.DeviceTree);
            Assert.Equal([(uint)(start >> 32), (uint)start], FdtReader.Cells(p["/chosen/linux,initrd-start"]));
            Assert.Equal([(uint)(end >> 32), (uint)end], FdtReader.Cells(p["/chosen/linux,initrd-end"]));
            Assert.Equal(0x4942534ful, BitConverter.ToUInt64(machine.Ram.Span(machine.FwDynamicInfoAddress, 8)));
        }
        finally
        {
            File.Delete(kernel);
            File.Delete(initrd);
        }
    }

    [Fact]
    public void BadInput_IsOneClearError()
    {
        Assert.Throws<MachineConfigurationException>(() => new VirtMachine(new VirtOptions { Kernel = "/nonexistent/Image" }));
        var empty = WriteTemp([]);
        try
        {
            var e = Assert.Throws<MachineConfigurationException>(() => new VirtMachine(new VirtOptions { Kernel = empty }));
            Assert.Contains("empty", e.Message);
            Assert.Throws<MachineConfigurationException>(() => new VirtMachine(new VirtOptions { Kernel = empty, MemorySize = 1ul << 20 }));
        }
        finally
        {
            File.Delete(empty);
        }
    }
}
