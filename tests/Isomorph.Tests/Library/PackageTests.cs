using System.Text.RegularExpressions;
using Isomorph.Tests.Linux;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Library;

/// <summary>
/// The packages as a user gets them: <c>dotnet pack</c> of the solution into a folder, then the
/// samples (samples/) built from that folder, the README's snippet pasted into a fresh console
/// project, and the CLI installed as a dotnet tool — each with a NuGet cache of its own, so that
/// nothing comes from the repository's projects or an older pack.
/// </summary>
public sealed class PackageTests : IClassFixture<PackageTests.Feed>
{
    private readonly Feed _feed;

    public PackageTests(Feed feed) => _feed = feed;

    /// <summary>The packed folder, made once for the class.</summary>
    public sealed class Feed : IDisposable
    {
        public DirectoryInfo Work { get; } = Directory.CreateTempSubdirectory("isomorph-packages");
        public string Folder => Path.Combine(Work.FullName, "feed");
        public IReadOnlyDictionary<string, string> Environment => new Dictionary<string, string>
        {
            ["NUGET_PACKAGES"] = Path.Combine(Work.FullName, "nuget-cache"),
            ["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1",
            ["DOTNET_NOLOGO"] = "1",
        };

        public Feed()
        {
            // Built apart (--artifacts-path): the repository's own bin and obj, which other tests run from, stay as they are.
            var r = Repository.Run("dotnet", ["pack", Path.Combine(Repository.Root, "Isomorph.slnx"), "-c", "Release", "-o", Folder,
                    "--artifacts-path", Path.Combine(Work.FullName, "artifacts"), "-p:UseSharedCompilation=false", "-v", "q", "-nologo"],
                TimeSpan.FromMinutes(10), environment: Environment);
            if (r.ExitCode != 0) throw new InvalidOperationException($"dotnet pack failed:\n{r.Stdout}\n{r.Stderr}");
        }

        public void Dispose() => Work.Delete(recursive: true);
    }

    private Repository.ProcessResult Dotnet(string directory, params string[] args) =>
        Repository.Run("dotnet", args, TimeSpan.FromMinutes(5), directory, environment: _feed.Environment);

    private string Sample(string name)
    {
        // A copy outside the repository: its bin and obj stay out of the tree.
        var copy = Path.Combine(_feed.Work.FullName, name);
        Directory.CreateDirectory(copy);
        foreach (var f in Directory.GetFiles(Path.Combine(Repository.Root, "samples", name))) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)), overwrite: true);
        var build = Dotnet(copy, "build", "-c", "Release", "--source", _feed.Folder, "-v", "q");
        Assert.True(build.ExitCode == 0, build.Stdout + build.Stderr);
        return copy;
    }

    [Fact]
    public void ThePackagesCarryDocumentationSymbolsAndOneVersion()
    {
        var names = Directory.GetFiles(_feed.Folder).Select(Path.GetFileName).Order().ToList();
        foreach (var id in new[] { "Isomorph", "Isomorph.Cli", "Isomorph.Linux", "Isomorph.Machines", "Isomorph.Riscv", "Isomorph.Elf", "Isomorph.Devices", "Isomorph.Debugging" })
        {
            Assert.Contains($"{id}.0.1.0.nupkg", names);
            Assert.Contains($"{id}.0.1.0.snupkg", names);
        }
        using var package = System.IO.Compression.ZipFile.OpenRead(Path.Combine(_feed.Folder, "Isomorph.0.1.0.nupkg"));
        Assert.Contains(package.Entries, e => e.FullName == "lib/net10.0/Isomorph.Library.xml");
        var nuspec = new StreamReader(package.Entries.Single(e => e.FullName.EndsWith(".nuspec")).Open()).ReadToEnd();
        Assert.Contains("<dependency id=\"Isomorph.Linux\" version=\"0.1.0\"", nuspec);
    }

    [Fact]
    public void ThePluginHostCallsIntoAGuestPlugin()
    {
        var run = Dotnet(Sample("PluginHost"), "run", "-c", "Release", "--no-build", "--", LinuxGuests.Program("embedded", "static"));
        Assert.Equal(0, run.ExitCode);
        // The plugin's own output reaches the console on a copying thread: its line may come after the host's first.
        Assert.Contains("plugin kettle ready (6)\n", run.Stdout);
        // (And the host's lines in their order, whatever comes between them.)
        int add = run.Stdout.IndexOf("add(40, 2) = 42\n", StringComparison.Ordinal);
        int log = run.Stdout.IndexOf("[plugin log] kettle greets the host\n", StringComparison.Ordinal);
        int greet = run.Stdout.IndexOf("greet(\"the host\") = 22\n", StringComparison.Ordinal);
        Assert.True(add >= 0 && log > add && greet > log, run.Stdout);
        Assert.Matches(@"100000 calls: \d+ ns a call\nplugin served 100002 calls\n", run.Stdout);
    }

    [Fact]
    public void TheSandboxEndsAProgramThatStepsOutsideItsAllowList()
    {
        var run = Dotnet(Sample("Sandbox"), "run", "-c", "Release", "--no-build", "--", LinuxGuests.Program("embedded", "static"), "getpid");
        Assert.Equal("pid ok\nSystemCallRefused: status 0, signal 31\n", run.Stdout);
    }

    [Fact]
    public void BootLinuxBootsTheGuestReadsItsConsoleSnapshotsItAndPowersItOff()
    {
        var images = Machines.LinuxGuest.Images;
        var run = Dotnet(Sample("BootLinux"), "run", "-c", "Release", "--no-build", "--", images.Image, images.Initrd);
        Assert.True(run.ExitCode == 0, run.Stdout + run.Stderr);
        Assert.Matches(@"the guest answered after [\d,]+ instructions:\nuname -sm; echo \$\(\(6 \* 7\)\)\nLinux riscv64\n42", run.Stdout);
        Assert.Matches(@"snapshot: [\d,]+ bytes\n", run.Stdout);
        Assert.EndsWith("the machine ended: PowerOff, exit code 0\n", run.Stdout);
    }

    [Fact]
    public void TheReadmeSnippetRunsInAFreshConsoleProject()
    {
        var readme = File.ReadAllText(Path.Combine(Repository.Root, "README.md"));
        var snippet = Regex.Match(readme, "<!-- library-snippet -->\\s*```csharp\\n(.*?)```", RegexOptions.Singleline);
        Assert.True(snippet.Success, "README.md has no ```csharp block after <!-- library-snippet -->");
        Assert.True(snippet.Groups[1].Value.TrimEnd().Split('\n').Length <= 15, "the snippet is longer than 15 lines");
        var project = Path.Combine(_feed.Work.FullName, "fresh");
        Directory.CreateDirectory(project);
        Assert.Equal(0, Dotnet(project, "new", "console", "--force").ExitCode);
        var add = Dotnet(project, "add", "package", "Isomorph", "--source", _feed.Folder);
        Assert.True(add.ExitCode == 0, add.Stdout + add.Stderr);
        File.WriteAllText(Path.Combine(project, "Program.cs"), snippet.Groups[1].Value);
        var run = Dotnet(project, "run", "--", LinuxGuests.Program("hello", "static"), "x", "the README");
        Assert.Equal("hello from riscv64 Linux, argc=3\nargv[1]=x\nargv[2]=the README\n", run.Stdout);
        Assert.Equal(42, run.ExitCode); // hello's status for an argument starting with x
    }

    [Fact]
    public void TheCliInstallsAsADotnetTool()
    {
        var tools = Path.Combine(_feed.Work.FullName, "tools");
        var install = Dotnet(_feed.Work.FullName, "tool", "install", "Isomorph.Cli", "--tool-path", tools, "--add-source", _feed.Folder, "--version", "0.1.0");
        Assert.True(install.ExitCode == 0, install.Stdout + install.Stderr);
        var run = Repository.Run(Path.Combine(tools, "isomorph"), ["run", LinuxGuests.Program("hello", "static"), "xtool"], TimeSpan.FromMinutes(2));
        Assert.Equal("hello from riscv64 Linux, argc=2\nargv[1]=xtool\n", run.Stdout);
        Assert.Equal(42, run.ExitCode);
    }
}
