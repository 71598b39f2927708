namespace Isomorph.Tests.Linux;

/// <summary>
/// MAP_SHARED mappings (guests/linux/user/shared.c): anonymous memory a parent and its forked child
/// share, and file mappings whose stores reach the file after msync, munmap and exit, compared with
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
        foreach (var file in new[] { "shared", "left" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(theirs, file)), File.ReadAllBytes(Path.Combine(ours, file)));
        Assert.StartsWith("stored before exit\0", File.ReadAllText(Path.Combine(ours, "left")));
    }

    [Fact]
    public void AGrownSharedAnonymousMappingStaysSharedAndAShrunkFileCannotBringTheVmDown()
    {
        // qemu-user 7.2 raises SIGBUS on the grown pages, so the expected line is Linux's.
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("shared", "static"), _temp.FullName, "mremap");
        Assert.Equal("", r.Stderr);
        Assert.Contains("after mremap: \"kept\", \"grown page shared\"\n", r.Stdout);
        // Where Linux raises SIGBUS the VM reads zeros, rather than taking SIGBUS itself on a page the host cannot back.
        Assert.Contains("past the end after ftruncate reads 0\nthe first page still reaches the file: 31 \"y\"\nafter O_TRUNC: 0\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }
}
