using Isomorph.Machines.Migration;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// Migration with the VM's owner in etcd (--ownership etcd:, docs/migration.md): Debian's etcd on
/// loopback, three members where a test kills the leader. The hand-over is etcd's, so the faults
/// that two processes alone cannot decide have one answer here: the VM runs on exactly one host.
/// </summary>
public sealed partial class MigrationTests
{
    private static string[] Owned(EtcdCluster etcd, string vm) => ["--ownership", $"etcd:{etcd.Endpoints}", "--vm-name", vm];

    [Fact]
    public void WithEtcd_TheVmMoves_TheRecordNamesTheDestination_AndNoOtherHostMayBootIt()
    {
        using var etcd = new EtcdCluster();
        using var pair = new Pair(this, Owned(etcd, "moving"), receive: ["--ownership", $"etcd:{etcd.Endpoints}"]);
        string? before = etcd.Owner("moving");
        Assert.NotNull(before);

        var migrated = Migrate(pair, $"127.0.0.1:{pair.Port}");
        output.WriteLine(migrated.Stdout + migrated.Stderr);
        Assert.True(migrated.ExitCode == 0, $"vm migrate: {migrated.ExitCode}\n{migrated.Stdout}{migrated.Stderr}\n{pair.Source.Stderr}\n{pair.Destination.Stderr}");
        Assert.Equal(0, pair.Source.WaitForExit(TimeSpan.FromSeconds(30)));
        Assert.True(Answers(pair.DestinationConsole, CommandTimeout), "the destination does not run the VM:\n" + pair.Destination.Stderr);
        string? after = etcd.Owner("moving");
        Assert.NotNull(after);
        Assert.NotEqual(before, after);

        var second = Repository.Isomorph(["boot", "--serial", "none", .. Owned(etcd, "moving")]);
        Assert.Equal(2, second.ExitCode);
        Assert.Contains($"VM 'moving' is owned by {after} in etcd", second.Stderr);
    }

    /// <summary>Faults where the two processes alone could not decide, or where the source dies holding the record.</summary>
    public enum OwnedFault
    {
        LinkCutAsTheSourceCommits,
        LinkCutAsTheDestinationSaysReady,
        SourceKilledAsTheDestinationSaysReady,
        SourceStoppedAsTheDestinationSaysReady,
        EtcdLeaderKilledAsTheDestinationSaysReady,
    }

    [Theory]
    [InlineData(OwnedFault.LinkCutAsTheSourceCommits)]
    [InlineData(OwnedFault.LinkCutAsTheDestinationSaysReady)]
    [InlineData(OwnedFault.SourceKilledAsTheDestinationSaysReady)]
    [InlineData(OwnedFault.SourceStoppedAsTheDestinationSaysReady)]
    [InlineData(OwnedFault.EtcdLeaderKilledAsTheDestinationSaysReady)]
    public void WithEtcd_AFault_LeavesTheVmRunningOnExactlyOneHost(OwnedFault fault)
    {
        using var etcd = new EtcdCluster(fault == OwnedFault.EtcdLeaderKilledAsTheDestinationSaysReady ? 3 : 1);
        string vm = $"fault-{(int)fault}";
        using var pair = new Pair(this, Owned(etcd, vm), timeoutSeconds: 2, receive: ["--ownership", $"etcd:{etcd.Endpoints}"]);
        bool ready(MigrationMessage type, bool fromSource, int _) => type == MigrationMessage.Ready;
        using var proxy = fault switch
        {
            OwnedFault.LinkCutAsTheSourceCommits => new MigrationProxy(pair.Port, (t, _, _) => t == MigrationMessage.Go, MigrationProxy.Act.CutBefore),
            OwnedFault.LinkCutAsTheDestinationSaysReady => new MigrationProxy(pair.Port, ready, MigrationProxy.Act.CutBefore),
            OwnedFault.SourceKilledAsTheDestinationSaysReady => new MigrationProxy(pair.Port, ready, MigrationProxy.Act.CutBefore, () => { }),
            OwnedFault.SourceStoppedAsTheDestinationSaysReady => new MigrationProxy(pair.Port, ready, MigrationProxy.Act.CallAfter, () => Signal(pair.Source, "STOP")),
            OwnedFault.EtcdLeaderKilledAsTheDestinationSaysReady => new MigrationProxy(pair.Port, ready, MigrationProxy.Act.CallAfter, () => etcd.Kill(etcd.LeaderIndex())),
            _ => throw new ArgumentOutOfRangeException(nameof(fault)),
        };
        Task<Repository.ProcessResult>? pending = null;
        if (fault == OwnedFault.SourceStoppedAsTheDestinationSaysReady)
        {
            pending = Task.Run(() => Migrate(pair, proxy.Endpoint, "--timeout", "2"));
            while (!proxy.Fired && !pending.IsCompleted) Thread.Sleep(10);
        }
        else if (fault == OwnedFault.SourceKilledAsTheDestinationSaysReady)
        {
            // Ready never reaches the source, which dies holding the record: its lease runs out and the destination takes the VM.
            var killer = Task.Run(() =>
            {
                while (!proxy.Fired) Thread.Sleep(10);
                Signal(pair.Source, "KILL");
            });
            var migrating = Task.Run(() => Migrate(pair, proxy.Endpoint, "--timeout", "2"));
            killer.Wait(TimeSpan.FromMinutes(2));
            migrating.Wait(TimeSpan.FromMinutes(2));
        }
        else
        {
            var migrated = Migrate(pair, proxy.Endpoint, "--timeout", "2");
            output.WriteLine($"{fault}: vm migrate {migrated.ExitCode}: {migrated.Stdout}{migrated.Stderr}");
        }
        Assert.True(proxy.Fired, "the fault was never injected:\n" + pair.Source.Stderr + pair.Destination.Stderr);
        if (fault == OwnedFault.SourceStoppedAsTheDestinationSaysReady)
        {
            // The frozen source's lease runs out; the destination, silent source and all, takes the VM.
            Assert.True(Answers(pair.DestinationConsole, TimeSpan.FromSeconds(60)), "the destination does not run the VM:\n" + pair.Destination.Stderr);
            Signal(pair.Source, "CONT");
            output.WriteLine($"{fault}: vm migrate {pending!.Result.ExitCode}: {pending.Result.Stdout}{pending.Result.Stderr}");
        }

        bool sourceRuns = fault == OwnedFault.LinkCutAsTheDestinationSaysReady;
        if (sourceRuns)
        {
            Assert.True(Answers(pair.SourceConsole, CommandTimeout), "the source does not run the VM:\n" + pair.Source.Stderr);
            Assert.Equal(ReceiveCommand_NotReceived, pair.Destination.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.False(Answers(pair.DestinationConsole, TimeSpan.FromSeconds(1)));
        }
        else
        {
            Assert.True(Answers(pair.DestinationConsole, TimeSpan.FromSeconds(60)), "the destination does not run the VM:\n" + pair.Destination.Stderr);
            Assert.NotNull(pair.Source.WaitForExit(TimeSpan.FromSeconds(60))); // the source ends: killed, or the VM is no longer its
            Assert.False(Answers(pair.SourceConsole, TimeSpan.FromSeconds(1)));
        }
        output.WriteLine(pair.Source.Stderr + pair.Destination.Stderr);
    }
}
