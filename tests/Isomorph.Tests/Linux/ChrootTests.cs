using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// The chroot system call (BusyBox's chroot applet): the calling process's own root from then on,
/// inherited by its children, with ".." and /proc/self/root stopping there; allowed only to a
/// thread with CAP_SYS_CHROOT, as on Linux, so an unprivileged host user's guest gets EPERM.
/// </summary>
public sealed class ChrootTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-chroot");
    private readonly string _busybox, _newRoot;

    public ChrootTests()
    {
        var bin = _temp.CreateSubdirectory("bin").FullName;
        _busybox = Path.Combine(bin, "busybox");
        File.Copy(BusyBox.Binary, _busybox);
        _newRoot = _temp.CreateSubdirectory("new-root").FullName;
        Directory.CreateDirectory(Path.Combine(_newRoot, "sub"));
        File.Copy(BusyBox.Binary, Path.Combine(_newRoot, "busybox"));
        File.WriteAllText(Path.Combine(_newRoot, "marker"), "inside the new root\n");
        File.WriteAllText(Path.Combine(_temp.FullName, "outside"), "SECRET\n");
    }

    public void Dispose() => _temp.Delete(recursive: true);

    [RootUserFact]
    public void ChrootConfinesTheProcessAndItsChildren()
    {
        var r = Repository.Run("dotnet", [Repository.CliDll, "run", _busybox, "chroot", _newRoot, "/busybox", "sh", "-c",
            "/busybox cat /marker; /busybox cat /../outside; /busybox cat /proc/self/root/../outside; cd /sub && /busybox pwd; /busybox ls /"],
            TimeSpan.FromSeconds(120), _temp.FullName);
        Assert.Equal("""
            inside the new root
            /sub
            busybox
            marker
            sub

            """, r.Stdout);
        Assert.Contains("can't open '/../outside': No such file or directory", r.Stderr);
        Assert.Contains("can't open '/proc/self/root/../outside': No such file or directory", r.Stderr);
    }

    [RootUserFact]
    public void WithoutCapSysChrootItIsEperm()
    {
        // nobody may not be able to reach the checkout (a clone in a 0700 mktemp directory): it runs
        // a copy of the CLI from the test's own directory, which it can read.
        var cli = _temp.CreateSubdirectory("cli").FullName;
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory))
            File.Copy(file, Path.Combine(cli, Path.GetFileName(file)));
        foreach (var path in new[] { _temp.FullName, cli, Path.GetDirectoryName(_busybox)!, _busybox })
            File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        var r = Repository.Run("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "env", $"HOME={_temp.FullName}",
            $"DOTNET_CLI_HOME={_temp.FullName}", "dotnet", Path.Combine(cli, Path.GetFileName(Repository.CliDll)),
            "run", _busybox, "chroot", _newRoot, "/busybox", "true"],
            TimeSpan.FromSeconds(120), _temp.FullName);
        Assert.Contains($"chroot: can't change root directory to '{_newRoot}': Operation not permitted", r.Stderr);
        Assert.Equal(1, r.ExitCode);
    }
}
