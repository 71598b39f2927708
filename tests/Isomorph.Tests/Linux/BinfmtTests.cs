using Isomorph.Linux.Host;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Linux;

/// <summary>
/// <c>isomorph binfmt</c> (issue 14, host → guest): host programs run riscv64 executables
/// directly. Each test works in a binfmt_misc of its own — a user namespace's private instance,
/// mounted in a mount namespace that ends with the test — so no registration outlives it or
/// touches the machine's; where the kernel does not allow that, the tests skip, saying why.
/// </summary>
public sealed class BinfmtTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-binfmt");

    public void Dispose() => _temp.Delete(recursive: true);

    private string Cli => $"'{Repository.CliDll.Replace("'", "'\\''")}'";

    /// <summary>Runs a bash script as root of a new user and mount namespace with a private binfmt_misc mounted.</summary>
    private static Repository.ProcessResult InPrivateBinfmtMisc(string script) =>
        Repository.Run("unshare", ["--user", "--map-root-user", "--mount", "--fork", "bash", "-c",
            $"set -u; mount -t binfmt_misc binfmt_misc {BinfmtMisc.DefaultMount} || exit 99\n{script}"], TimeSpan.FromSeconds(120));

    [PrivateBinfmtMiscFact]
    public void AHostShellRunsRiscv64ProgramsDirectly_WithArgumentsDescriptorsAndStatus()
    {
        string hello = LinuxGuests.Program("hello", "dynamic"), busybox = BusyBox.Binary;
        var r = InPrivateBinfmtMisc($"""
            dotnet {Cli} binfmt install --handler {_temp.FullName}/handler >/dev/null || exit 98
            {hello} one 'two words'
            {busybox} sh -c 'exit 7'; echo "exit status $?"
            {busybox} sh -c 'kill -TERM $$'; echo "killed: status $?"
            echo through a pipe | {busybox} tr a-z A-Z
            {busybox} sh -c 'echo to descriptor 5 >&5' 5>&1
            (exec -a echo {busybox} "BusyBox's echo applet, chosen by argv[0]")
            dotnet {Cli} binfmt status
            dotnet {Cli} binfmt uninstall
            {busybox} true 2>/dev/null || echo "after uninstall: status $?"
            """);
        Assert.Equal("Terminated\n", r.Stderr); // bash's report of the riscv64 shell killed by SIGTERM
        Assert.Equal($"""
            hello from riscv64 Linux, argc=3
            argv[1]=one
            argv[2]=two words
            exit status 7
            killed: status 143
            THROUGH A PIPE
            to descriptor 5
            BusyBox's echo applet, chosen by argv[0]
            {BinfmtMisc.EntryName}: enabled, interpreter {_temp.FullName}/handler, flags P
            removed {BinfmtMisc.DefaultMount}/{BinfmtMisc.EntryName}
            after uninstall: status 126

            """, r.Stdout);
        Assert.False(File.Exists(Path.Combine(_temp.FullName, "handler")), "uninstall removes the handler it wrote");
    }

    /// <summary>One process tree mixing both ISAs: a riscv64 shell runs a host shell that runs riscv64 BusyBox, with a pipe through host gzip.</summary>
    [PrivateBinfmtMiscFact]
    public void OneTreeMixesBothIsas()
    {
        string busybox = BusyBox.Binary;
        var r = InPrivateBinfmtMisc($"""
            dotnet {Cli} binfmt install --handler {_temp.FullName}/handler >/dev/null || exit 98
            {busybox} sh -c "echo mixed | /usr/bin/gzip -c | /bin/sh -c '{busybox} gunzip -c | {busybox} tr a-z A-Z; exit 5'; echo riscv64 shell saw \$?"
            """);
        Assert.Equal(("MIXED\nriscv64 shell saw 5\n", ""), (r.Stdout, r.Stderr));
    }

    [PrivateBinfmtMiscFact]
    public void InstallRefusesWhereItCannot_AndNeverReplacesAnotherHandler()
    {
        var r = InPrivateBinfmtMisc($"""
            printf '%s' ':qemu-riscv64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xf3\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/bin/false:' > {BinfmtMisc.DefaultMount}/register
            dotnet {Cli} binfmt install --handler {_temp.FullName}/handler; echo "status $?"
            dotnet {Cli} binfmt status
            dotnet {Cli} binfmt install --mount {_temp.FullName}; echo "status $?"
            """);
        Assert.Equal($"""
            status 1
            {BinfmtMisc.EntryName}: not registered
            qemu-riscv64: enabled, interpreter /bin/false, flags none (another handler of riscv64 executables)
            status 1

            """, r.Stdout);
        Assert.Equal($"""
            isomorph binfmt: {BinfmtMisc.DefaultMount}/qemu-riscv64 (/bin/false) already handles riscv64 executables; remove it first (as root: echo -1 > {BinfmtMisc.DefaultMount}/qemu-riscv64)
            isomorph binfmt: binfmt_misc is not mounted at {_temp.FullName} (as root: mount -t binfmt_misc binfmt_misc {_temp.FullName})

            """, r.Stderr);
        Assert.False(File.Exists(Path.Combine(_temp.FullName, "handler")));

        // Not root (a user namespace without a mapping): refused before anything is written.
        var user = Repository.Run("unshare", ["--user", "dotnet", Repository.CliDll, "binfmt", "install", "--handler", $"{_temp.FullName}/handler"],
            TimeSpan.FromSeconds(60));
        Assert.Equal(("isomorph binfmt: install needs root: binfmt_misc registrations are the kernel's, for every user\n", 1), (user.Stderr, user.ExitCode));
    }

    [Fact]
    public void TheRegistrationMatchesRiscv64ExecutablesOnly()
    {
        var ours = new BinfmtMisc.Entry(BinfmtMisc.EntryName, true, "x", "P", 0, BinfmtMisc.Magic, BinfmtMisc.Mask);
        Assert.True(ours.HandlesRiscv64());
        foreach (var (linkage, matches) in new[] { ("static", true), ("dynamic", true), ("host", false) })
        {
            var head = File.ReadAllBytes(LinuxGuests.Program("hostexec", linkage)).AsSpan(0, 20).ToArray();
            bool all = true;
            for (int i = 0; i < 20; i++) all &= (head[i] & BinfmtMisc.Mask[i]) == BinfmtMisc.Magic[i];
            Assert.True(all == matches, $"{linkage}: {Convert.ToHexString(head)}");
        }
        Assert.StartsWith(@":isomorph-riscv64:M::\x7f\x45\x4c\x46\x02\x01\x01\x00", BinfmtMisc.Registration("/h"));
        Assert.EndsWith(":/h:P", BinfmtMisc.Registration("/h"));
    }
}

/// <summary>Skips, saying why, where the kernel gives no private binfmt_misc (a user namespace's own, Linux 6.7 and later).</summary>
public sealed class PrivateBinfmtMiscFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (!Repository.HasTool("unshare")) return "no unshare(1) on this machine";
        var r = Repository.Run("unshare", ["--user", "--map-root-user", "--mount", "--fork", "mount", "-t", "binfmt_misc", "binfmt_misc",
            BinfmtMisc.DefaultMount], TimeSpan.FromSeconds(30));
        return r.ExitCode == 0 ? null : $"the kernel gives no private binfmt_misc here (unshare + mount: {r.Stderr.Trim()})";
    });

    public PrivateBinfmtMiscFactAttribute()
    {
        if (Unavailable.Value is { } why) Skip = why;
    }
}
