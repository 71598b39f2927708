using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Isomorph.Machines.Migration;
using Isomorph.Tests.Support;
using Xunit.Abstractions;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Live migration between two isomorph processes on loopback (docs/migration.md): <c>boot</c> runs
/// the project's Linux guest, <c>receive</c> waits for it, <c>vm migrate</c> moves it. The guest's
/// console goes on at the destination from the byte where it stopped at the source; and whatever
/// fails at any step of the protocol — a process killed or stopped, the link cut — the VM ends up
/// running on at most one of them, and on exactly one unless the link failed in the commit's window,
/// which the source reports as undecided and where the operator's resume brings it back.
/// </summary>
public sealed partial class MigrationTests(ITestOutputHelper output) : IDisposable
{
    private static readonly TimeSpan BootTimeout = LinuxGuest.BootTimeout, CommandTimeout = LinuxGuest.CommandTimeout;
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-migration");

    public void Dispose() => _temp.Delete(recursive: true);

    private string Temp(string name) => Path.Combine(_temp.FullName, name);


    /// <summary>A VM booted by one isomorph, and another waiting to receive it; both consoles on Unix sockets.</summary>
    private sealed class Pair : IDisposable
    {
        public readonly IsomorphProcess Source, Destination;
        public readonly SocketConsole SourceConsole, DestinationConsole;
        public readonly string SourceApi, DestinationApi;
        public readonly int Port = Ports.Free();
        public readonly string Host;

        /// <summary>
        /// <paramref name="destinationHost"/> is where receive listens; <paramref name="destinationIn"/>, when given,
        /// runs it inside a network namespace (<see cref="NetworkNamespace"/>).
        /// </summary>
        public Pair(MigrationTests test, string[] boot, double timeoutSeconds = 10, string[]? receive = null,
            string destinationHost = "127.0.0.1", NetworkNamespace? destinationIn = null)
        {
            Host = destinationHost;
            SourceApi = test.Temp("source.api");
            DestinationApi = test.Temp("destination.api");
            string sourceSerial = test.Temp("source.serial"), destinationSerial = test.Temp("destination.serial");
            Source = new IsomorphProcess(["boot", "--append", "console=ttyS0 quiet", "--serial", $"unix:{sourceSerial}", "--api-sock", SourceApi, .. boot]);
            string[] receiving = ["receive", "--listen", $"{destinationHost}:{Port}", "--serial", $"unix:{destinationSerial}",
                "--api-sock", DestinationApi, "--timeout", timeoutSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture), .. receive ?? []];
            Destination = destinationIn is null
                ? new IsomorphProcess(receiving)
                : new IsomorphProcess("ip", ["netns", "exec", destinationIn.Name, "dotnet", Repository.CliDll, .. receiving]);
            SourceConsole = new SocketConsole(Source.Connect(sourceSerial, BootTimeout));
            DestinationConsole = new SocketConsole(Destination.Connect(destinationSerial, BootTimeout));
            Assert.True(SourceConsole.WaitFor("/ # ", BootTimeout) >= 0, "no shell prompt:\n" + SourceConsole.Text + Source.Stderr);
        }

        public void Dispose()
        {
            SourceConsole.Dispose();
            DestinationConsole.Dispose();
            Source.Dispose();
            Destination.Dispose();
        }
    }

    /// <summary>True when the shell on <paramref name="console"/> answers a command within <paramref name="timeout"/>.</summary>
    private static bool Answers(SocketConsole console, TimeSpan timeout)
    {
        string token = $"alive{Random.Shared.Next(1000, 9999)}";
        int from = console.Text.Length;
        try
        {
            console.Send($"echo {token[..5]}$(({token[5..]}+0))\n");
        }
        catch (SocketException)
        {
            return false; // the process serving the console is gone
        }
        return console.WaitFor(token + "\r\n", timeout, from) >= 0 || console.WaitFor(token + "\n", TimeSpan.Zero, from) >= 0;
    }

    private static Repository.ProcessResult Migrate(Pair pair, string to, params string[] extra) =>
        Repository.Run("dotnet", [Repository.CliDll, "vm", "migrate", "--sock", pair.SourceApi, "--to", to, .. extra], TimeSpan.FromSeconds(120));

    [GeneratedRegex(@"n=(\d+) (ok|BAD)")]
    private static partial Regex CountLine();

    [Fact]
    public void ALinuxGuestWithTwoHarts_MovesWhileItRewritesMemory_AndItsCountGoesOnWithNoGapAndNoRepeat()
    {
        using var pair = new Pair(this, ["--cpus", "2", "--host-threads", "2"]);
        // Each step rewrites 4 MiB (in RAM: the initramfs), copies it and checks the copy: a page the
        // migration lost or sent stale would show as BAD, or as a count that skips or repeats.
        pair.SourceConsole.Send("mkdir -p /tmp; i=0; while [ $i -lt 16 ]; do i=$((i+1)); dd if=/dev/urandom of=/tmp/a bs=64k count=64 2>/dev/null; " +
            "s=$(md5sum </tmp/a); cp /tmp/a /tmp/b; t=$(md5sum </tmp/b); [ \"$s\" = \"$t\" ] && echo \"n=$i ok\" || echo \"n=$i BAD\"; done; echo finished\n");
        Assert.True(pair.SourceConsole.WaitFor("n=4 ok", CommandTimeout) >= 0, "the guest does not count:\n" + LinuxGuest.Tail(pair.SourceConsole.Text));

        var migrated = Migrate(pair, $"127.0.0.1:{pair.Port}");
        output.WriteLine(migrated.Stdout + migrated.Stderr);
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Source.Stderr}\n{pair.Destination.Stderr}");
        Assert.Matches(@"^migrated to 127\.0\.0\.1:\d+ in \d+ ms: downtime \d+ ms, [\d,]+ bytes sent in \d+ rounds", migrated.Stdout);
        Assert.Equal(0, pair.Source.WaitForExit(TimeSpan.FromSeconds(30))); // the source ends once the VM runs there

        Assert.True(pair.DestinationConsole.WaitFor("finished", TimeSpan.FromMinutes(3)) >= 0,
            "the count did not finish at the destination:\n" + LinuxGuest.Tail(pair.DestinationConsole.Text) + pair.Destination.Stderr);
        string before = pair.SourceConsole.Text, after = pair.DestinationConsole.Text;
        var counts = CountLine().Matches(before + after).Select(m => (N: int.Parse(m.Groups[1].Value), Ok: m.Groups[2].Value == "ok")).ToList();
        Assert.Equal(Enumerable.Range(1, 16), counts.Select(c => c.N)); // no gap, no repeat across the two consoles
        Assert.All(counts, c => Assert.True(c.Ok, $"step {c.N}: the copy of the rewritten buffer differs"));
        Assert.True(CountLine().Matches(after).Count >= 3, "the guest did not go on working at the destination");

        pair.DestinationConsole.Send("poweroff\n");
        Assert.Equal(0, pair.Destination.WaitForExit(TimeSpan.FromSeconds(60)));
    }

    /// <summary>
    /// The KVM host guest (<c>boot --guest kvm</c>) moves while its nested guest computes: its hart
    /// runs mostly in V mode, the nested guest's memory is the host guest's, and the nested
    /// computation finishes at the destination, whose nested shell then answers.
    /// </summary>
    [KvmFact]
    public void AKvmHost_MovesWhileItsNestedGuestComputes_AndTheNestedGuestGoesOnThere()
    {
        using var pair = new Pair(this, ["--guest", "kvm"]);
        int at = pair.SourceConsole.Text.Length;
        HypervisorGuestTests.Type(pair.SourceConsole, "nested");
        at = pair.SourceConsole.WaitFor("Isomorph guest:", BootTimeout, at);
        at = at < 0 ? -1 : pair.SourceConsole.WaitFor("/ # ", BootTimeout, at);
        Assert.True(at >= 0, "the nested guest reached no prompt:\n" + LinuxGuest.Tail(pair.SourceConsole.Text));
        // Long enough to outlast the migration by seconds (20,000 rounds took half a second once the
        // translator sped up, and the loop ended before the VM left).
        HypervisorGuestTests.Type(pair.SourceConsole, "i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done; echo done$i");
        Thread.Sleep(300);

        var migrated = Migrate(pair, $"127.0.0.1:{pair.Port}");
        output.WriteLine(migrated.Stdout + migrated.Stderr);
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Source.Stderr}\n{pair.Destination.Stderr}");
        Assert.Equal(0, pair.Source.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.DoesNotContain("done100000", pair.SourceConsole.Text); // the loop was still running when the VM left
        Assert.True(pair.DestinationConsole.WaitFor("done100000", CommandTimeout) >= 0,
            "the nested loop did not finish at the destination:\n" + LinuxGuest.Tail(pair.DestinationConsole.Text) + pair.Destination.Stderr
            + "\nat the source:\n" + LinuxGuest.Tail(pair.SourceConsole.Text));
        HypervisorGuestTests.Type(pair.DestinationConsole, "cat /proc/device-tree/compatible");
        Assert.True(pair.DestinationConsole.WaitFor("linux,dummy-virt", CommandTimeout) >= 0,
            "the nested shell did not answer at the destination:\n" + LinuxGuest.Tail(pair.DestinationConsole.Text));
    }

    [NetworkNamespaceFact]
    public void BetweenTwoNetworkNamespacesJoinedByAVethPair_TheVmMoves()
    {
        using var net = new NetworkNamespace();
        using var pair = new Pair(this, [], destinationHost: net.InsideAddress, destinationIn: net);
        var migrated = Migrate(pair, $"{pair.Host}:{pair.Port}");
        output.WriteLine(migrated.Stdout + migrated.Stderr);
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Destination.Stderr}");
        Assert.Matches($@"^migrated to {Regex.Escape(pair.Host)}:\d+ in \d+ ms: downtime \d+ ms", migrated.Stdout);
        Assert.Equal(0, pair.Source.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.True(Answers(pair.DestinationConsole, CommandTimeout), "the destination does not run the VM:\n" + pair.Destination.Stderr);
    }

    [Fact]
    public void ADiskImage_MovesWithTheVm_ItsLockGoesToTheDestination_AndWritesOnBothSidesAreOnIt()
    {
        string image = Temp("disk.img");
        using (var f = File.Create(image)) f.SetLength(1 << 20);
        using var pair = new Pair(this, ["--disk", image]);
        // A second VM may not write the image while the first runs.
        var second = Repository.Isomorph("boot", "--serial", "none", "--disk", image);
        Assert.Equal(2, second.ExitCode);
        Assert.Contains("in use by another VM", second.Stderr);

        pair.SourceConsole.Send("echo written-before | dd of=/dev/vda bs=512 conv=notrunc,sync 2>/dev/null; sync; echo wrote$((1+1))\n");
        Assert.True(pair.SourceConsole.WaitFor("wrote2", CommandTimeout) >= 0, LinuxGuest.Tail(pair.SourceConsole.Text));
        var migrated = Migrate(pair, $"127.0.0.1:{pair.Port}");
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Destination.Stderr}");
        Assert.Equal(0, pair.Source.WaitForExit(TimeSpan.FromSeconds(30)));

        // The destination reads what the source wrote, writes the next sector, and holds the lock now.
        pair.DestinationConsole.Send("dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 14; echo; echo written-after | dd of=/dev/vda bs=512 seek=1 conv=notrunc,sync 2>/dev/null; sync; echo wrote$((2+1))\n");
        Assert.True(pair.DestinationConsole.WaitFor("wrote3", CommandTimeout) >= 0, LinuxGuest.Tail(pair.DestinationConsole.Text));
        Assert.Contains("written-before\n", pair.DestinationConsole.Text.Replace("\r", ""));
        var third = Repository.Isomorph("boot", "--serial", "none", "--disk", image);
        Assert.Equal(2, third.ExitCode);
        Assert.Contains("in use by another VM", third.Stderr);
        pair.DestinationConsole.Send("poweroff\n");
        Assert.Equal(0, pair.Destination.WaitForExit(TimeSpan.FromSeconds(60)));

        var bytes = File.ReadAllBytes(image);
        Assert.Equal("written-before\n", System.Text.Encoding.ASCII.GetString(bytes, 0, 15));
        Assert.Equal("written-after\n", System.Text.Encoding.ASCII.GetString(bytes, 512, 14));
    }

    [Fact]
    public void AGuestThatWritesFasterThanTheLinkCarries_IsThrottled_AndTheMigrationEnds()
    {
        using var pair = new Pair(this, []);
        // Random bytes (LZ4 cannot shrink them) rewritten as fast as the guest makes them, over a link of 2 MB/s.
        pair.SourceConsole.Send("mkdir -p /tmp; while true; do dd if=/dev/urandom of=/tmp/r bs=64k count=32 conv=notrunc 2>/dev/null; done &\n");
        Thread.Sleep(2000);
        using var proxy = new MigrationProxy(pair.Port, (_, _, _) => false, MigrationProxy.Act.CallAfter, bytesPerSecond: 2_000_000);
        var migrated = Migrate(pair, proxy.Endpoint, "--json", "--max-downtime", "300");
        output.WriteLine(migrated.Stdout + migrated.Stderr);
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Destination.Stderr}");
        var info = System.Text.Json.JsonSerializer.Deserialize<Isomorph.Cli.Vm.MigrationInfo>(migrated.Stdout, Isomorph.Cli.Vm.VmJson.Options)!;
        Assert.Equal("Succeeded", info.Phase);
        Assert.True(info.Throttle > 0, $"the guest was never throttled: {migrated.Stdout}");
        Assert.True(info.Round > 2, $"pre-copy stopped after {info.Round} rounds");
        Assert.True(Answers(pair.DestinationConsole, CommandTimeout), "the destination does not run the VM:\n" + pair.Destination.Stderr);
    }

    /// <summary>Where a fault strikes, and who must run the VM afterwards.</summary>
    public enum Fault
    {
        DestinationKilledWhileRamIsCopied,
        LinkCutWhileRamIsCopied,
        DestinationStoppedWhileRamIsCopied,
        SourceStoppedWhileRamIsCopied,
        LinkCutAsTheDestinationSaysReady,
        LinkCutAsTheSourceCommits,
        LinkCutAfterTheCommitReachedTheDestination,
        SourceKilledAfterTheCommit,
    }

    [Theory]
    [InlineData(Fault.DestinationKilledWhileRamIsCopied)]
    [InlineData(Fault.LinkCutWhileRamIsCopied)]
    [InlineData(Fault.DestinationStoppedWhileRamIsCopied)]
    [InlineData(Fault.SourceStoppedWhileRamIsCopied)]
    [InlineData(Fault.LinkCutAsTheDestinationSaysReady)]
    [InlineData(Fault.LinkCutAsTheSourceCommits)]
    [InlineData(Fault.LinkCutAfterTheCommitReachedTheDestination)]
    [InlineData(Fault.SourceKilledAfterTheCommit)]
    public void AFault_AtAnyStep_LeavesTheVmRunningOnAtMostOneHost(Fault fault)
    {
        using var pair = new Pair(this, [], timeoutSeconds: 2);
        bool inCopy(MigrationMessage type, bool fromSource, int count) => type == MigrationMessage.Pages && fromSource && count == 4;
        using var proxy = fault switch
        {
            Fault.DestinationKilledWhileRamIsCopied => new MigrationProxy(pair.Port, inCopy, MigrationProxy.Act.CallAfter, () => Signal(pair.Destination, "KILL")),
            Fault.LinkCutWhileRamIsCopied => new MigrationProxy(pair.Port, inCopy, MigrationProxy.Act.CutAfter),
            Fault.DestinationStoppedWhileRamIsCopied => new MigrationProxy(pair.Port, inCopy, MigrationProxy.Act.CallAfter, () => Signal(pair.Destination, "STOP")),
            Fault.SourceStoppedWhileRamIsCopied => new MigrationProxy(pair.Port, inCopy, MigrationProxy.Act.CallAfter, () => Signal(pair.Source, "STOP")),
            Fault.LinkCutAsTheDestinationSaysReady => new MigrationProxy(pair.Port, (t, s, _) => t == MigrationMessage.Ready, MigrationProxy.Act.CutBefore),
            Fault.LinkCutAsTheSourceCommits => new MigrationProxy(pair.Port, (t, s, _) => t == MigrationMessage.Go, MigrationProxy.Act.CutBefore),
            Fault.LinkCutAfterTheCommitReachedTheDestination => new MigrationProxy(pair.Port, (t, s, _) => t == MigrationMessage.Running, MigrationProxy.Act.CutBefore),
            Fault.SourceKilledAfterTheCommit => new MigrationProxy(pair.Port, (t, s, _) => t == MigrationMessage.Go, MigrationProxy.Act.CallAfter, () => Signal(pair.Source, "KILL")),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        var migrating = Task.Run(() => Migrate(pair, proxy.Endpoint, "--timeout", "2"));
        if (fault == Fault.SourceStoppedWhileRamIsCopied)
        {
            // The destination gives up on a silent source; the source, continued, finds the link gone and runs on.
            Assert.Equal(ReceiveCommand_NotReceived, pair.Destination.WaitForExit(TimeSpan.FromSeconds(60)));
            Signal(pair.Source, "CONT");
        }
        var migrated = migrating.Result;
        output.WriteLine($"{fault}: vm migrate {migrated.ExitCode}: {migrated.Stdout}{migrated.Stderr}");
        Assert.True(proxy.Fired, "the fault was never injected:\n" + pair.Source.Stderr + pair.Destination.Stderr);
        if (fault == Fault.DestinationStoppedWhileRamIsCopied) Signal(pair.Destination, "CONT");

        switch (fault)
        {
            case Fault.LinkCutAsTheSourceCommits:
                // The commit's window: the source cannot know whether Go arrived, so it keeps the VM paused;
                // the destination never heard Go, so it dropped the VM. The operator resumes the source.
                Assert.Equal(VmUndecided, migrated.ExitCode);
                Assert.Contains("undecided", migrated.Stderr);
                Assert.Equal(ReceiveCommand_NotReceived, pair.Destination.WaitForExit(TimeSpan.FromSeconds(60)));
                Assert.False(Answers(pair.SourceConsole, TimeSpan.FromSeconds(3)), "the source ran the VM after sending the commit");
                Assert.Equal(0, Repository.Isomorph("vm", "resume", "--sock", pair.SourceApi).ExitCode);
                Assert.True(Answers(pair.SourceConsole, CommandTimeout), "the resumed source does not run the VM");
                break;
            case Fault.LinkCutAfterTheCommitReachedTheDestination:
                // The destination runs the VM; the source did not hear so and keeps its copy paused: one runs.
                Assert.Equal(VmUndecided, migrated.ExitCode);
                Assert.True(Answers(pair.DestinationConsole, CommandTimeout), "the destination does not run the VM:\n" + pair.Destination.Stderr);
                Assert.False(Answers(pair.SourceConsole, TimeSpan.FromSeconds(3)), "the source ran the VM after sending the commit");
                Assert.Contains("\"state\": \"Paused\"", Repository.Isomorph("vm", "info", "--json", "--sock", pair.SourceApi).Stdout);
                break;
            case Fault.SourceKilledAfterTheCommit:
                Assert.True(Answers(pair.DestinationConsole, CommandTimeout), "the destination does not run the VM:\n" + pair.Destination.Stderr);
                Assert.Equal(137, pair.Source.WaitForExit(TimeSpan.FromSeconds(10)));
                break;
            default:
                // Before the commit: the migration failed, the VM runs on at the source, the destination has nothing.
                Assert.True(migrated.ExitCode == 1, $"vm migrate {migrated.ExitCode}: {migrated.Stdout}{migrated.Stderr}");
                Assert.Contains("the VM runs on here", migrated.Stderr);
                Assert.True(Answers(pair.SourceConsole, CommandTimeout), "the source does not run the VM after the failed migration:\n" + pair.Source.Stderr);
                int? destination = pair.Destination.WaitForExit(TimeSpan.FromSeconds(60));
                Assert.True(destination == (fault == Fault.DestinationKilledWhileRamIsCopied ? 137 : ReceiveCommand_NotReceived),
                    $"the destination ended with {destination}:\n{pair.Destination.Stderr}");
                Assert.False(Answers(pair.DestinationConsole, TimeSpan.FromSeconds(1)));
                break;
        }
    }

    private const int ReceiveCommand_NotReceived = 1, VmUndecided = 3;

    private static void Signal(IsomorphProcess process, string signal) => Process.Start("kill", [$"-{signal}", process.Id.ToString()])!.WaitForExit();
}
