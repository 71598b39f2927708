using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// esbuild's riscv64 build from npm (a static Go program: threads, futexes, SIGURG preemption
/// through tgkill, sigaltstack, epoll) under the process VM, with the host's build of the same
/// version as the oracle: guests/linux/esbuild.sh fetches both with `npm pack`.
/// </summary>
public sealed class EsbuildTests : IDisposable
{
    private const string Version = "0.28.2";
    private static readonly Lazy<(string Guest, string Host)> Fetched = new(Fetch, LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-esbuild-");

    public void Dispose() => _temp.Delete(recursive: true);

    private static (string, string) Fetch()
    {
        var script = Path.Combine(Repository.Guests, "linux", "esbuild.sh");
        var r = Repository.Run(script, [Version], TimeSpan.FromMinutes(5));
        if (r.ExitCode != 0) throw new InvalidOperationException($"guests/linux/esbuild.sh failed (status {r.ExitCode}):\n{r.Stderr}");
        var lines = r.Stdout.TrimEnd('\n').Split('\n');
        return (lines[^2], lines[^1]);
    }

    private static Repository.ProcessResult Guest(string work, params string[] args) =>
        Repository.Run("dotnet", [Repository.CliDll, "run", Fetched.Value.Guest, .. args], TimeSpan.FromSeconds(120), work);

    private static Repository.ProcessResult Host(string work, params string[] args) =>
        Repository.Run(Fetched.Value.Host, args, TimeSpan.FromSeconds(60), work);

    /// <summary>A copy of the TypeScript project (guests/linux/esbuild-project) in a directory of its own.</summary>
    private string Project(string name)
    {
        var work = _temp.CreateSubdirectory(name).FullName;
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Guests, "linux", "esbuild-project")))
            File.Copy(file, Path.Combine(work, Path.GetFileName(file)));
        return work;
    }

    [Fact]
    public void VersionIsThePackagesVersion()
    {
        var r = Guest(_temp.FullName, "--version");
        Assert.Equal("", r.Stderr);
        Assert.Equal(Version + "\n", r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    /// <summary>Bundling and minifying the project (imports, an enum, classes, generics) gives the host build's bytes.</summary>
    [Fact]
    public void BundleIsByteIdenticalToTheHostBuilds()
    {
        string[] args = ["main.ts", "--bundle", "--minify", "--platform=node", "--outfile=out.js", "--log-level=warning"];
        string ours = Project("ours"), theirs = Project("theirs");
        var g = Guest(ours, args);
        Assert.False(g.TimedOut, "isomorph timed out");
        Assert.Equal("", g.Stderr);
        Assert.Equal(0, g.ExitCode);
        Assert.Equal(0, Host(theirs, args).ExitCode);
        var bundle = File.ReadAllBytes(Path.Combine(ours, "out.js"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(theirs, "out.js")), bundle);
        var text = System.Text.Encoding.UTF8.GetString(bundle);
        Assert.DoesNotContain("must not appear", text); // tree shaking ran
        if (Repository.HasTool("node"))
        {
            var run = Repository.Run("node", ["out.js"], TimeSpan.FromSeconds(30), ours);
            Assert.Equal("biggest: circle with area 12.57\nrectangle with area 10.00\ncircle with area 0.79\n"
                + "rectangle with area 12.00\ncircle with area 12.57\ncircles: 2, kinds: Circle,Rectangle\n", run.Stdout);
        }
    }

    /// <summary>ESM with source maps and a metafile into a directory, and a transform of standard input.</summary>
    [Fact]
    public void SourceMapsMetafileAndStdinMatchTheHostBuild()
    {
        string[] args = ["main.ts", "--bundle", "--sourcemap", "--format=esm", "--outdir=out", "--metafile=meta.json", "--log-level=warning"];
        string ours = Project("ours"), theirs = Project("theirs");
        var g = Guest(ours, args);
        Assert.Equal("", g.Stderr);
        Assert.Equal(0, g.ExitCode);
        Assert.Equal(0, Host(theirs, args).ExitCode);
        foreach (var name in new[] { "out/main.js", "out/main.js.map", "meta.json" })
            Assert.Equal(File.ReadAllText(Path.Combine(theirs, name)), File.ReadAllText(Path.Combine(ours, name)));

        string source = File.ReadAllText(Path.Combine(ours, "shapes.ts"));
        string[] transform = ["--loader=ts", "--minify-syntax", "--target=es2017"];
        var viaStdin = Repository.Run("dotnet", [Repository.CliDll, "run", Fetched.Value.Guest, .. transform], TimeSpan.FromSeconds(120), ours, source);
        var expected = Repository.Run(Fetched.Value.Host, transform, TimeSpan.FromSeconds(60), theirs, source);
        Assert.Equal(0, viaStdin.ExitCode);
        Assert.Equal(expected.Stdout, viaStdin.Stdout);
    }

    /// <summary>Three hundred modules in a chain: enough work for the Go runtime's collector and preemption.</summary>
    [Fact]
    public void ALargerBundleIsByteIdenticalToo()
    {
        string ours = _temp.CreateSubdirectory("large-ours").FullName, theirs = _temp.CreateSubdirectory("large-theirs").FullName;
        foreach (var dir in new[] { ours, theirs })
        {
            for (int i = 1; i <= 300; i++)
                File.WriteAllText(Path.Combine(dir, $"m{i}.ts"),
                    $"import {{ v{i + 1} }} from './m{i + 1}';\n" +
                    $"export enum E{i} {{ A = {i}, B }}\n" +
                    $"export class C{i}<T> {{ constructor(public x: T) {{}} get y(): T {{ return this.x; }} }}\n" +
                    $"export const v{i}: number = {i} + (typeof v{i + 1} === 'number' ? 1 : 0) + E{i}.B + new C{i}<number>({i}).y;\n");
            File.WriteAllText(Path.Combine(dir, "m301.ts"), "export const v301 = 1;\n");
            File.WriteAllText(Path.Combine(dir, "entry.ts"), "import { v1 } from './m1';\nconsole.log(v1);\n");
        }
        string[] args = ["entry.ts", "--bundle", "--minify", "--outfile=out.js", "--log-level=warning"];
        var g = Guest(ours, args);
        Assert.Equal("", g.Stderr);
        Assert.Equal(0, g.ExitCode);
        Assert.Equal(0, Host(theirs, args).ExitCode);
        Assert.Equal(File.ReadAllBytes(Path.Combine(theirs, "out.js")), File.ReadAllBytes(Path.Combine(ours, "out.js")));
    }
}
