namespace Isomorph.Linux.FileSystem;

/// <summary>
/// Maps the paths a guest names onto host paths, as qemu-user's <c>-L</c> does: an absolute path
/// is looked up first under the sysroot (where the riscv64 libraries live) and, when it is not
/// there, on the host. Relative paths are the host's, relative to the current directory.
/// </summary>
public sealed class PathResolver(string? sysroot)
{
    /// <summary>Debian's riscv64 cross sysroot, the default when it exists.</summary>
    public const string DebianSysroot = "/usr/riscv64-linux-gnu";

    public string? Sysroot { get; } = sysroot is null ? null : Path.GetFullPath(sysroot).TrimEnd('/');

    public static string? DefaultSysroot() => Directory.Exists(DebianSysroot) ? DebianSysroot : null;

    /// <summary>The host path for a guest path.</summary>
    public string Resolve(string guestPath)
    {
        if (Sysroot is null || !guestPath.StartsWith('/') || guestPath == "/") return guestPath;
        // Runs of slashes are one slash to Linux: collapsed here, so that the sysroot's prefix does
        // not push a path the kernel would accept past PATH_MAX.
        string candidate = Sysroot + (guestPath.Contains("//", StringComparison.Ordinal) ? CollapseSlashes(guestPath) : guestPath);
        return Exists(candidate) ? candidate : guestPath;
    }

    /// <summary>The host paths <see cref="Resolve"/> would try, in order (for error messages).</summary>
    public IEnumerable<string> Candidates(string guestPath)
    {
        if (Sysroot is not null && guestPath.StartsWith('/')) yield return Sysroot + guestPath;
        yield return guestPath;
    }

    private static string CollapseSlashes(string path)
    {
        var sb = new System.Text.StringBuilder(path.Length);
        foreach (char c in path)
            if (c != '/' || sb.Length == 0 || sb[^1] != '/') sb.Append(c);
        return sb.ToString();
    }

    private static bool Exists(string path)
    {
        try
        {
            return File.Exists(path) || Directory.Exists(path) || new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
