using System.Net.Sockets;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// <c>isomorph run --root DIR</c> is a jail (docs/process-vm-jail.md): guests/linux/user/jail.c,
/// run as root (as these tests are), tries to make device nodes, open the ones the root holds, reach
/// this test's abstract Unix socket and open netlink and packet sockets. The same program without
/// --root shows that the host itself would have allowed all of it, so every refusal is the VM's.
/// </summary>
public sealed class JailTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-jail");
    private readonly string _root, _abstractName = $"isomorph-jail-{Guid.NewGuid():N}";
    private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);

    public JailTests()
    {
        _root = _temp.CreateSubdirectory("root").FullName;
        var dev = Directory.CreateDirectory(Path.Combine(_root, "dev")).FullName;
        foreach (var (name, type, major, minor) in new[]
                 {
                     ("null", "c", 1, 3), ("zero", "c", 1, 5), ("mem", "c", 1, 1), ("kmsg", "c", 1, 11),
                     ("disk", "b", 8, 0), ("fake-null", "c", 1, 1),
                 })
        {
            var r = Repository.Run("mknod", [Path.Combine(dev, name), type, $"{major}", $"{minor}"], TimeSpan.FromSeconds(30));
            Assert.True(r.ExitCode == 0, r.Stderr);
        }
        File.Copy(LinuxGuests.Program("jail", "static"), Path.Combine(_root, "jail"));
        _listener.Bind(new UnixDomainSocketEndPoint("\0" + _abstractName));
        _listener.Listen(4);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _temp.Delete(recursive: true);
    }

    [RootUserFact]
    public void AConfinedGuestCannotReachDevicesAbstractSocketsOrOtherFamilies()
    {
        var r = LinuxGuests.Isomorph(["--root", _root], "/jail", _abstractName);
        Assert.Equal("", r.Stderr);
        Assert.Equal("""
            mknod block device: Operation not permitted
            mknod character device: Operation not permitted
            mknod character device like null: Operation not permitted
            mknod fifo: ok
            mknod regular file: ok
            open /dev/null: ok
            open /dev/zero: ok
            open /dev/mem: Operation not permitted
            open /dev/kmsg: Operation not permitted
            open /dev/disk: Operation not permitted
            open /dev/disk (O_PATH): Operation not permitted
            open /dev/fake-null: Operation not permitted
            socket AF_NETLINK: Address family not supported by protocol
            socket AF_PACKET: Address family not supported by protocol
            socketpair AF_NETLINK: Address family not supported by protocol
            socket AF_INET: ok
            socketpair AF_UNIX: ok
            connect to the host's abstract socket: Connection refused
            sendto an abstract address: Connection refused
            bind an abstract address: Operation not permitted
            autobind: Operation not permitted
            bind a path: ok

            """, r.Stdout);
        Assert.Equal(0, r.ExitCode);
        Assert.False(File.Exists(Path.Combine(_root, "made-disk")));
        Assert.True(File.Exists(Path.Combine(_root, "made-fifo")));
    }

    /// <summary>The control: unconfined, the same calls succeed, so the host (we are root) would have allowed them.</summary>
    [RootUserFact]
    public void UnconfinedTheHostAllowsThem()
    {
        var cwd = _temp.CreateSubdirectory("unconfined").FullName;
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", Path.Combine(_root, "jail"), _abstractName], TimeSpan.FromSeconds(120), cwd);
        Assert.Contains("mknod block device: ok\n", r.Stdout);
        Assert.Contains("connect to the host's abstract socket: ok\n", r.Stdout);
        Assert.Contains("socket AF_NETLINK: ok\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }
}

/// <summary>A fact that needs root: making device nodes for the root directory, and showing that the host would allow what the jail refuses.</summary>
public sealed class RootUserFactAttribute : FactAttribute
{
    public RootUserFactAttribute()
    {
        if (!Environment.IsPrivilegedProcess) Skip = "needs root (to make device nodes), as tests/run.sh runs on these machines";
    }
}
