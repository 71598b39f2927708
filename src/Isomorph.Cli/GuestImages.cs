using System.Diagnostics;

namespace Isomorph.Cli;

/// <summary>
/// The project's small Linux guest (kernel Image and BusyBox initramfs), used by <c>isomorph boot</c>
/// when no kernel is given. Beside a checkout, guests/linux/build-kernel.sh is the one judge of
/// whether the cached images are current: it is run every time (it answers at once when they are,
/// builds them with its progress on stderr when they are not, and takes a lock so that boots started
/// together build once). Without the script, the cache is used as it is.
/// </summary>
public static class GuestImages
{
    public static string CacheDirectory =>
        Path.Combine(Environment.GetEnvironmentVariable("ISOMORPH_CACHE")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "isomorph"), "linux");

    /// <summary>The kernel and initramfs paths, or an error message for stderr.</summary>
    public static (string Kernel, string Initrd)? Resolve(out string? error)
    {
        error = null;
        string kernel = Path.Combine(CacheDirectory, "Image"), initrd = Path.Combine(CacheDirectory, "initramfs.cpio.gz");
        bool cached = File.Exists(kernel) && File.Exists(initrd);
        string? script = FindScript();
        if (script is null)
        {
            if (cached) return (kernel, initrd);
            error = $"no --kernel given and no guest images in {CacheDirectory} (build them with guests/linux/build-kernel.sh)";
            return null;
        }
        if (!cached) Console.Error.WriteLine($"isomorph: building the Linux guest with {script} (first use; a few minutes)");
        var psi = new ProcessStartInfo(script) { UseShellExecute = false, RedirectStandardOutput = true };
        using var p = Process.Start(psi)!;
        var lines = p.StandardOutput.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        p.WaitForExit();
        if (p.ExitCode != 0 || lines.Length < 2)
        {
            error = $"{script} failed (exit status {p.ExitCode})";
            return null;
        }
        return (lines[^2].Trim(), lines[^1].Trim());
    }

    private static string? FindScript()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var script = Path.Combine(dir.FullName, "guests", "linux", "build-kernel.sh");
            if (File.Exists(script)) return script;
        }
        return null;
    }
}
