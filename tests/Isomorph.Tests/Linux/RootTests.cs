using System.Net.Sockets;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// <c>isomorph run --root DIR</c>: the guest's whole file system is DIR, as after chroot(DIR). Each
/// test builds a small root (BusyBox, the riscv64 ld.so and libc for dynamic programs) beside a
/// marker file outside it, and shows that programs run inside while every way out — "..", absolute
/// and climbing symbolic links, loops, /proc links, rename and link — stays inside. The expected
/// lines are what the same program prints under chroot on Linux.
/// </summary>
public sealed class RootTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-root");
    private readonly string _root, _outside, _outsideSocket;
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public RootTests()
    {
        _root = _temp.CreateSubdirectory("root").FullName;
        _outside = Path.Combine(_temp.FullName, "outside");
        File.WriteAllText(_outside, "SECRET outside the root\n");
        _outsideSocket = Path.Combine(_temp.FullName, "outside.sock");
        _listener.Bind(new UnixDomainSocketEndPoint(_outsideSocket));
        _listener.Listen(1);
        File.WriteAllText(Path.Combine(_root, "inside"), "inside\n");
        var lib = Directory.CreateDirectory(Path.Combine(_root, "lib")).FullName;
        foreach (var name in new[] { "ld-linux-riscv64-lp64d.so.1", "libc.so.6" })
            File.Copy(Path.Combine(LinuxGuests.Sysroot, "lib", name), Path.Combine(lib, name));
        var bin = Directory.CreateDirectory(Path.Combine(_root, "bin")).FullName;
        File.Copy(BusyBox.Binary, Path.Combine(bin, "busybox"));
        foreach (var applet in new[] { "sh", "cat", "ls", "ln", "mv", "pwd", "readlink", "echo", "wc", "sort" })
            File.CreateSymbolicLink(Path.Combine(bin, applet), "busybox");
    }

    public void Dispose()
    {
        _listener.Dispose();
        _temp.Delete(recursive: true);
    }

    private Repository.ProcessResult Run(params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", "--root", _root, "-E", "PATH=/bin", .. args], TimeSpan.FromSeconds(120), _temp.FullName);

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void EveryEscapeStaysInside(string linkage)
    {
        File.Copy(LinuxGuests.Program("confine", linkage), Path.Combine(_root, "confine"));
        var r = Run("/confine", _outside, _outsideSocket);
        Assert.Equal("", r.Stderr);
        Assert.Equal($"""
            inside: inside
            outside by host path: No such file or directory
            dot-dot chain: No such file or directory
            openat / with dot-dot: No such file or directory
            parent of / is /: inside
            absolute symlink: No such file or directory
            absolute symlink inside: inside
            climbing symlink: No such file or directory
            climbing symlink to inside: inside
            symlink loop: Too many levels of symbolic links
            stat of outside symlink: No such file or directory
            lstat of outside symlink: ok
            proc root: No such file or directory
            proc root inside: inside
            proc fd dot-dot: No such file or directory
            proc fd inside: inside
            proc cwd dot-dot: No such file or directory
            exe: /confine
            root: /
            fd of /: /
            reopened fd of /: inside
            chdir /sub: ok
            chdir up and up: ok
            cwd: /
            relative after climbing: inside
            chdir to outside's directory: No such file or directory
            rename up and out: ok
            renamed file: moved
            link up and out: ok
            linked file: inside
            unlink outside: No such file or directory
            rename through outside symlink: No such file or directory
            lstat sub-link/: directory
            lstat abs-inside/: Not a directory
            lstat abs-link/: No such file or directory
            rmdir inside/: Not a directory
            unlink sub-link/: Not a directory
            mkdir new/: ok
            connect to a socket outside: No such file or directory
            bind inside: ok
            connect inside: ok

            """, r.Stdout);
        Assert.Equal(0, r.ExitCode);
        // What moved went to the root, and the outside marker is untouched.
        Assert.Equal("moved\n", File.ReadAllText(Path.Combine(_root, "moved")));
        Assert.Equal("inside\n", File.ReadAllText(Path.Combine(_root, "linked")));
        Assert.Equal("SECRET outside the root\n", File.ReadAllText(_outside));
        Assert.Equal(["outside", "outside.sock", "root"], _temp.GetFileSystemInfos().Select(f => f.Name).Order());
        Assert.True(File.GetAttributes(Path.Combine(_root, "sock")) != 0); // bound inside the root

    }

    /// <summary>
    /// The oracle: the same escapes by confine.c built for the host, run under a real chroot into an
    /// identical root (in a user, mount and pid namespace, with a /proc of its own mounted, so that
    /// /proc/self links behave as they do for a chrooted process).
    /// </summary>
    [ChrootFact]
    public void EveryEscapeEndsAsUnderARealChroot()
    {
        string native = Path.Combine(_temp.FullName, "confine-host");
        var build = Repository.Run("gcc", ["-static", "-O2", "-o", native, Path.Combine(Repository.Guests, "linux", "user", "confine.c")],
            TimeSpan.FromMinutes(1));
        Assert.True(build.ExitCode == 0, build.Stderr);
        var chroot = _temp.CreateSubdirectory("chroot").FullName;
        File.WriteAllText(Path.Combine(chroot, "inside"), "inside\n");
        Directory.CreateDirectory(Path.Combine(chroot, "proc"));
        File.Copy(native, Path.Combine(chroot, "confine"));
        var expected = Repository.Run("unshare", ["-rmpf", $"--mount-proc={Path.Combine(chroot, "proc")}", "chroot", chroot, "/confine", _outside, _outsideSocket],
            TimeSpan.FromMinutes(1));
        Assert.True(expected.ExitCode == 0, expected.Stderr);

        File.Copy(LinuxGuests.Program("confine", "static"), Path.Combine(_root, "confine"));
        var actual = Run("/confine", _outside, _outsideSocket);
        Assert.Equal("", actual.Stderr);
        Assert.Equal(expected.Stdout, actual.Stdout);
        Assert.Contains("absolute symlink: No such file or directory\n", actual.Stdout);
    }

    [Fact]
    public void ShellPipelinesScriptsAndDynamicProgramsRunInside()
    {
        File.Copy(LinuxGuests.Program("hello", "dynamic"), Path.Combine(_root, "bin", "hello"));
        File.WriteAllText(Path.Combine(_root, "bin", "script"), "#!/bin/sh\necho \"script $1 in $(pwd)\"\n");
        File.SetUnixFileMode(Path.Combine(_root, "bin", "script"), (UnixFileMode)0x1ED);
        var r = Run("/bin/sh", "-c", $"""
            hello one
            cd /bin && ./script arg && script again
            cat /inside /../../../inside
            cat /../../..{_outside} 2>&1 | wc -l
            ln -s {_outside} /tmp-link; cat /tmp-link 2>&1 | wc -l; ls /dev 2>&1 | wc -l
            cd /; cd ../../..; pwd; ls / | sort | wc -l
            readlink /proc/self/exe
            """);
        Assert.Equal("", r.Stderr);
        Assert.Equal("""
            hello from riscv64 Linux, argc=2
            argv[1]=one
            script arg in /bin
            script again in /bin
            inside
            inside
            1
            1
            1
            /
            4
            /bin/busybox

            """, r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void ProcServesTheProcessItselfAndNothingOfTheHost()
    {
        foreach (var applet in new[] { "grep", "head" })
            File.CreateSymbolicLink(Path.Combine(_root, "bin", applet), "busybox");
        var r = Run("/bin/sh", "-c", """
            grep -c . /proc/self/maps
            grep ' r-xp .* /bin/busybox$' /proc/self/maps | wc -l
            grep ' rw-p .* \[stack\]$' /proc/self/maps | wc -l
            grep '\[vdso\]' /proc/self/maps | wc -l
            head -3 /proc/cpuinfo
            grep -c MemTotal /proc/meminfo
            grep -c '^VmLck:' /proc/self/status
            cat /proc/1/maps /proc/mounts 2>&1 | wc -l
            ls /proc 2>&1 || true
            """);
        Assert.Equal("", r.Stderr);
        var lines = r.Stdout.Split('\n');
        Assert.True(int.Parse(lines[0]) >= 4, r.Stdout);
        Assert.Equal(["1", "1", "1", "processor\t: 0", "hart\t\t: 0", "isa\t\t: rv64imafdc_zicsr_zifencei_zba_zbb_zbs", "1", "1", "2",
            "ls: /proc: No such file or directory", ""], lines[1..]);
        Assert.Equal(0, r.ExitCode);
    }

    [Fact]
    public void AMissingProgramOrRootIsOneLineAndStatusTwo()
    {
        var missing = Run("/no/such/program");
        Assert.Equal(2, missing.ExitCode);
        Assert.Single(missing.Stderr.TrimEnd('\n').Split('\n'));
        Assert.Contains("/no/such/program", missing.Stderr);

        var noRoot = Repository.Isomorph("run", "--root", Path.Combine(_temp.FullName, "absent"), "/bin/sh");
        Assert.Equal(2, noRoot.ExitCode);
        Assert.Equal($"isomorph: --root {Path.Combine(_temp.FullName, "absent")}: no such directory\n", noRoot.Stderr);

        // Outside the root the program does not exist, even by its host path.
        var hostPath = Run(BusyBox.Binary, "true");
        Assert.Equal(2, hostPath.ExitCode);
    }
}

/// <summary>A test that needs a real chroot for its oracle: skipped, visibly, where unprivileged user namespaces are not allowed.</summary>
public sealed class ChrootFactAttribute : FactAttribute
{
    private static readonly Lazy<bool> Available = new(() =>
        Repository.HasTool("unshare") && Repository.HasTool("chroot") && Repository.HasTool("gcc")
        && Repository.Run("unshare", ["-rmpf", "true"], TimeSpan.FromSeconds(30)).ExitCode == 0);

    public ChrootFactAttribute()
    {
        if (!Available.Value) Skip = "this host allows no user namespaces, so no chroot to compare with (unshare -rmpf fails)";
    }
}
