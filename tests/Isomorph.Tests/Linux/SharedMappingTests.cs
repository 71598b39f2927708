namespace Isomorph.Tests.Linux;

/// <summary>
/// MAP_SHARED mappings (guests/linux/user/shared.c): anonymous memory a parent and its forked child
/// share, file mappings whose stores reach the file after msync, munmap and exit, and SIGBUS past
/// the end of a mapped file (until it grows, and again after it shrinks), compared with
/// qemu-riscv64 (which runs fork alone fine): the same output and the same file contents after exit.
/// </summary>
public sealed class SharedMappingTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-shared");

    public void Dispose() => _temp.Delete(recursive: true);

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void SharedMappingsBehaveAsUnderQemu(string linkage)
    {
        string ours = _temp.CreateSubdirectory("ours").FullName, theirs = _temp.CreateSubdirectory("qemu").FullName;
        var program = LinuxGuests.Program("shared", linkage);
        var expected = LinuxGuests.Qemu([], program, theirs);
        var actual = LinuxGuests.Isomorph([], program, ours);
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal("", actual.Stderr);
        Assert.Equal(expected.Stdout, actual.Stdout);
        Assert.Equal(0, actual.ExitCode);
        Assert.Contains("anonymous shared: child saw 42, wrote 142, flag 2; private copy still 1", actual.Stdout);
        // Past the end of the file, as on Linux: SIGBUS (BUS_ADRERR) until the file grows over the page.
        Assert.Contains("shared, a page past the end: SIGBUS code 2 at the address\nprivate, a page past the end: SIGBUS code 2 at the address\n", actual.Stdout);
        Assert.Contains("shared, after the file grew: stored\nprivate, after the file grew: reads 0\nthe grown page reaches the file: 31 \"w\"\n"
            + "shared, after ftruncate shrank it: SIGBUS code 2 at the address\n", actual.Stdout);
        Assert.Contains("the first page after O_TRUNC: SIGBUS code 2 at the address\n", actual.Stdout);
        foreach (var file in new[] { "shared", "left" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(theirs, file)), File.ReadAllBytes(Path.Combine(ours, file)));
        Assert.StartsWith("stored before exit\0", File.ReadAllText(Path.Combine(ours, "left")));
    }

    [Fact]
    public void AGrownSharedAnonymousMappingStaysShared()
    {
        // qemu-user 7.2 raises SIGBUS on the grown pages, so the expected line is Linux's.
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("shared", "static"), _temp.FullName, "mremap");
        Assert.Equal("", r.Stderr);
        Assert.Contains("after mremap: \"kept\", \"grown page shared\"\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }
}
