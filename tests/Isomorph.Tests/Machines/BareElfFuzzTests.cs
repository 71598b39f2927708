using Isomorph.Elf;
using Isomorph.Machines;
using Isomorph.Machines.Bare;
using Isomorph.Tests.Elf;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The bare machine's loader on mutated copies of guests/samples/hello.elf: a clean rejection
/// (<see cref="ElfFormatException"/> or <see cref="MachineConfigurationException"/>, one line)
/// or a machine ready to run. ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED control the run.
/// </summary>
public sealed class BareElfFuzzTests
{
    [Fact]
    public void MutatedProgramsAreRefusedInOneLineOrLoaded()
    {
        var good = ElfFileFuzzTests.Program("bare");
        Fuzz.Check(ElfMutations.Mutations(good), mutations =>
        {
            var bytes = (byte[])good.Clone();
            foreach (var m in mutations) bytes = m.Apply(bytes);
            try
            {
                using var machine = new BareMachine(ElfFile.Parse("fuzz", bytes), new BareOptions { MemorySize = 1 << 20, MaxInstructions = 1000 });
                machine.Run();
            }
            catch (Exception e) when (e is ElfFormatException or MachineConfigurationException)
            {
                Assert.DoesNotContain('\n', e.Message);
            }
        }, defaultIterations: 500, describe: m => string.Join("; ", m.Select(x => x.Description)));
    }
}
