using Isomorph.Elf;
using Isomorph.Tests.Linux;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Elf;

/// <summary>
/// <see cref="ElfFile"/> on mutated programs (<see cref="ElfMutations"/>): a clean rejection
/// (<see cref="ElfFormatException"/>, one line) or a file whose every segment and symbol can be
/// read without another exception, and whose loadable segments end without wrapping.
/// ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED control the run (<see cref="Fuzz"/>).
/// </summary>
public sealed class ElfFileFuzzTests
{
    public static byte[] Program(string name) => name == "bare"
        ? File.ReadAllBytes(Path.Combine(Repository.Guests, "samples", "hello.elf"))
        : File.ReadAllBytes(LinuxGuests.Program(name[..name.IndexOf('-')], name[(name.IndexOf('-') + 1)..]));

    [Theory]
    [InlineData("bare")]
    [InlineData("hello-static")]
    [InlineData("hello-dynamic")]
    [InlineData("pie-static-pie")]
    public void MutatedFilesAreRefusedInOneLineOrReadWhole(string program)
    {
        var good = Program(program);
        Fuzz.Check(ElfMutations.Mutations(good), mutations =>
        {
            var bytes = (byte[])good.Clone();
            foreach (var m in mutations) bytes = m.Apply(bytes);
            try
            {
                var elf = ElfFile.Parse("fuzz", bytes);
                foreach (var s in elf.Segments)
                {
                    if (s.Type is not (ElfSegment.Load or ElfSegment.Interpreter)) continue;
                    Assert.Equal((int)s.FileSize, elf.SegmentBytes(s).Length);
                    if (s.Type == ElfSegment.Load) Assert.True(s.FileSize <= s.MemorySize && s.MemorySize <= ulong.MaxValue - s.VirtualAddress, $"segment {s}");
                }
                _ = elf.Symbols.Count;
            }
            catch (ElfFormatException e)
            {
                Assert.DoesNotContain('\n', e.Message);
            }
        }, defaultIterations: 2000, describe: m => string.Join("; ", m.Select(x => x.Description)));
    }
}
