using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Debian's BusyBox, cross-built statically for riscv64 by guests/linux/busybox.sh (cached outside
/// the repository), and a directory of applet links to it, as a root file system's /bin would be.
/// </summary>
public static class BusyBox
{
    private static readonly Lazy<(string Binary, string Applets)> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The riscv64 busybox binary.</summary>
    public static string Binary => Built.Value.Binary;

    /// <summary>A directory with a link named after each applet, for the guest's PATH.</summary>
    public static string Applets => Built.Value.Applets;

    private static (string, string) Build()
    {
        var script = Path.Combine(Repository.Guests, "linux", "busybox.sh");
        var r = Repository.Run(script, [], TimeSpan.FromMinutes(15));
        if (r.ExitCode != 0) throw new InvalidOperationException($"guests/linux/busybox.sh failed:\n{r.Stdout}\n{r.Stderr}");
        string binary = r.Stdout.TrimEnd('\n').Split('\n')[^1];
        var list = LinuxGuests.Isomorph([], binary, "--list");
        if (list.ExitCode != 0) throw new InvalidOperationException($"busybox --list failed under isomorph:\n{list.Stderr}");
        var applets = Directory.CreateTempSubdirectory("isomorph-busybox-bin").FullName;
        foreach (var name in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
            File.CreateSymbolicLink(Path.Combine(applets, name), binary);
        return (binary, applets);
    }
}
