using Isomorph.Elf;
using Isomorph.Machines;
using Isomorph.Machines.Bare;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>Damaged ELF files are rejected with a message or run as a (misbehaving) guest — never crash the host.</summary>
public sealed class HostileInputTests
{
    [Fact]
    public void MutatedElfHeadersNeverCrashTheHost()
    {
        var original = File.ReadAllBytes(Path.Combine(Repository.Guests, "samples", "hello.elf"));
        var random = new Random(2026);
        int rejected = 0, ran = 0;
        for (int n = 0; n < 400; n++)
        {
            var bytes = (byte[])original.Clone();
            int flips = random.Next(1, 6);
            for (int f = 0; f < flips; f++)
            {
                // Mostly the ELF header and program headers, sometimes anywhere (section headers, symbols).
                int at = random.Next(4) == 0 ? random.Next(bytes.Length) : random.Next(Math.Min(bytes.Length, 0x200));
                bytes[at] = (byte)random.Next(256);
            }
            if (random.Next(8) == 0) bytes = bytes[..random.Next(bytes.Length)];
            try
            {
                var elf = ElfFile.Parse($"mutant{n}", bytes);
                using var machine = new BareMachine(elf, new BareOptions { MaxInstructions = 20_000, MemorySize = 1 << 20 });
                machine.Run();
                ran++;
            }
            catch (ElfFormatException) { rejected++; }
            catch (MachineConfigurationException) { rejected++; }
        }
        Assert.True(rejected > 0 && ran > 0, $"rejected {rejected}, ran {ran}");
    }
}
