namespace Isomorph.Tests.Support;

/// <summary>
/// The project's own guest programs (guests/), built once per test run with Debian's
/// riscv64-unknown-elf toolchain. A missing toolchain fails loudly: the test command installs it.
/// </summary>
public static class GuestPrograms
{
    private static readonly Lazy<string> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);

    public static string BuildDirectory => Built.Value;

    private static string Build()
    {
        if (!Repository.HasTool("riscv64-unknown-elf-gcc"))
            throw new InvalidOperationException("riscv64-unknown-elf-gcc is missing: run the README's test command, which installs gcc-riscv64-unknown-elf");
        var r = Repository.Run("make", ["-C", Repository.Guests, "-j2", "all"], TimeSpan.FromMinutes(5));
        if (r.ExitCode != 0) throw new InvalidOperationException($"building guests failed:\n{r.Stdout}\n{r.Stderr}");
        return Repository.GuestBuild;
    }

    public static string Path(string relative) => System.IO.Path.Combine(BuildDirectory, relative);

    /// <summary>The self-checking test programs (guests/isa, guests/priv, guests/jit) by relative path, e.g. "isa/rv64i.elf".</summary>
    public static IEnumerable<string> TestNames()
    {
        foreach (var dir in new[] { "isa", "priv", "jit", "hyp" })
            foreach (var src in Directory.EnumerateFiles(System.IO.Path.Combine(Repository.Guests, dir))
                         .Where(f => f.EndsWith(".c") || f.EndsWith(".S")).Order())
                yield return $"{dir}/{System.IO.Path.GetFileNameWithoutExtension(src)}.elf";
    }
}
