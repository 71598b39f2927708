using Isomorph.Linux;
using Isomorph.Linux.Loading;
using Isomorph.Tests.Elf;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// The process VM's loader (<see cref="LinuxProcess.Start"/>) on mutated programs: a clean
/// rejection (<see cref="ProgramLoadException"/>, one line, an errno execve can return) or a
/// process ready to run — never another exception, never a write outside guest memory (which
/// ends the test host), never a hang. ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED control the run.
/// </summary>
public sealed class ElfLoaderFuzzTests : CliTest
{
    public ElfLoaderFuzzTests() : base("isomorph-elf-fuzz") { }

    private static readonly int[] ExecveErrnos = [Errno.ENOEXEC, Errno.EIO, Errno.EINVAL, Errno.ENOMEM, Errno.ENOENT, Errno.ELIBBAD];

    [Theory]
    [InlineData("hello-static")]
    [InlineData("hello-dynamic")]
    [InlineData("pie-static-pie")]
    public void MutatedProgramsAreRefusedWithAnErrnoOrLoaded(string program)
    {
        var good = ElfFileFuzzTests.Program(program);
        string path = Path.Combine(Temp.FullName, "fuzz");
        Fuzz.Check(ElfMutations.Mutations(good), mutations =>
        {
            var bytes = (byte[])good.Clone();
            foreach (var m in mutations) bytes = m.Apply(bytes);
            File.WriteAllBytes(path, bytes);
            try
            {
                using var process = LinuxProcess.Start(path, [path], new LinuxOptions { Sysroot = LinuxGuests.Sysroot });
            }
            catch (ProgramLoadException e)
            {
                Assert.DoesNotContain('\n', e.Message);
                Assert.Contains(e.Errno, ExecveErrnos);
            }
        }, defaultIterations: 150, describe: m => string.Join("; ", m.Select(x => x.Description)));
    }
}
