using System.Diagnostics;

namespace Isomorph.Cli;

/// <summary>
/// The project's small Linux guest (kernel Image and BusyBox initramfs), used by <c>isomorph boot</c>
/// when no kernel is given: taken from the cache of guests/linux/build-kernel.sh, or built by that
/// script on first use with its progress on stderr.
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
        string? script = FindScript();
        bool cached = File.Exists(kernel) && File.Exists(initrd);
        if (cached && (script is null || IsCurrent(script))) return (kernel, initrd);
        if (script is null)
        {
            error = $"no --kernel given and no guest images in {CacheDirectory} (build them with guests/linux/build-kernel.sh)";
            return null;
        }
        Console.Error.WriteLine(cached
            ? $"isomorph: the guest's kernel config or init changed; rebuilding with {script}"
            : $"isomorph: building the Linux guest with {script} (first use; a few minutes)");
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

    /// <summary>
    /// True when the cached images were built from the script's current kernel config fragment (the
    /// script stamps the Image with the fragment's hash) and init.
    /// </summary>
    private static bool IsCurrent(string script)
    {
        string dir = Path.GetDirectoryName(script)!;
        string fragment = Path.Combine(dir, "linux-riscv64.fragment"), init = Path.Combine(dir, "init");
        string stampFile = Path.Combine(CacheDirectory, "Image.stamp");
        if (!File.Exists(fragment) || !File.Exists(stampFile)) return false;
        string hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(fragment)))[..16];
        if (File.ReadAllText(stampFile).Trim() != hash) return false;
        return !File.Exists(init) || File.GetLastWriteTimeUtc(init) <= File.GetLastWriteTimeUtc(Path.Combine(CacheDirectory, "initramfs.cpio.gz"));
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
