using System.Diagnostics;

namespace Isomorph.Cli;

/// <summary>
/// The project's small Linux guest (kernel Image and BusyBox initramfs), used by <c>isomorph boot</c>
/// when no kernel is given; with <c>--guest kvm</c> the same kernel with an initramfs that also holds
/// kvmtool and a nested guest (guests/linux/kvm-guest.sh). Beside a checkout, the guest's script is the one judge of
/// whether the cached images are current: it is run every time (it answers at once when they are,
/// builds them with its progress on stderr when they are not, and takes a lock so that boots started
/// together build once). Without the script, the cache is used as it is.
/// </summary>
public static class GuestImages
{
    public static string CacheDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("ISOMORPH_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "isomorph"), "linux");

    /// <summary>The guests <c>--guest</c> names: the script that builds each, and its initramfs in the cache.</summary>
    public static readonly IReadOnlyDictionary<string, (string Script, string Initrd)> Guests = new Dictionary<string, (string, string)>
    {
        ["linux"] = ("build-kernel.sh", "initramfs.cpio.gz"),
        ["kvm"] = ("kvm-guest.sh", "initramfs-kvm.cpio.gz"),
    };

    /// <summary>The kernel and initramfs paths of guest <paramref name="name"/>, or an error message for stderr.</summary>
    public static (string Kernel, string Initrd)? Resolve(string name, out string? error)
    {
        error = null;
        var (scriptName, initrdName) = Guests[name];
        string kernel = Path.Combine(CacheDirectory, "Image"), initrd = Path.Combine(CacheDirectory, initrdName);
        bool cached = File.Exists(kernel) && File.Exists(initrd);
        string? script = FindScript(scriptName);
        if (script is null)
        {
            if (cached) return (kernel, initrd);
            error = $"no --kernel given and no guest images in {CacheDirectory} (build them with guests/linux/{scriptName})";
            return null;
        }
        if (!cached) Console.Error.WriteLine($"isomorph: building the Linux guest with {script} (first use; a few minutes)");
        var psi = new ProcessStartInfo(script) { UseShellExecute = false, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        if (p.ExitCode != 0 || lines.Length < 2)
        {
            error = p.ExitCode == 3
                ? $"{script} found no source for what it builds (it said why above)"
                : $"{script} failed (exit status {p.ExitCode})";
            return null;
        }
        return (lines[^2].Trim(), lines[^1].Trim());
    }

    private static string? FindScript(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "guests", "linux", name);
            if (File.Exists(script)) return script;
        }
        return null;
    }
}
