using Isomorph.Devices.State;
using Isomorph.Machines.Snapshot;

namespace Isomorph.Machines.Migration;

/// <summary>
/// The receiving side of a live migration: builds the machine from the source's configuration,
/// fills its RAM page by page, restores the harts' and devices' state, says it is ready, and hands
/// the machine out to run only on the source's word (<see cref="MigrationMessage.Go"/>): whatever
/// fails before that word, the machine is dropped and the VM goes on at the source (docs/migration.md).
/// </summary>
public static class MigrationDestination
{
    /// <summary>
    /// Receives one VM over <paramref name="connection"/> (owned). Returns the machine, not yet run,
    /// once the source has committed; throws <see cref="MigrationException"/> (or
    /// <see cref="MachineConfigurationException"/> when the machine cannot be built here) otherwise.
    /// <paramref name="log"/> hears one line per step.
    /// </summary>
    public static IMachine Receive(Stream connection, MachineRestoreOptions options, Action<string>? log = null) => Receive(connection, options, null, out _, log);

    /// <summary>
    /// As above, with the VM's ownership in a store (etcd; <paramref name="vmName"/> is the VM's name there): the hand-over is the store's, and a
    /// destination holding the whole VM that hears nothing more from the source asks the store
    /// (<see cref="IOwnership.TakeOverAfterSilence"/>) whether it is now the VM's.
    /// </summary>
    public static IMachine Receive(Stream connection, MachineRestoreOptions options, IOwnership? ownership, out string? vmName, Action<string>? log = null)
    {
        vmName = null;
        using var channel = new MigrationChannel(connection);
        IMachine? machine = null;
        try
        {
            var (board, vm) = MigrationEndpoint.CheckHello(channel.Expect(MigrationMessage.Hello));
            vmName = vm;
            if ((vm is null) != (ownership is null))
                throw new MigrationException(vm is null
                    ? "the source does not use etcd ownership and this destination does: give both sides the same --ownership"
                    : $"the source's VM '{vm}' is owned in etcd and this destination has no --ownership: give both sides the same");
            var configuration = channel.Expect(MigrationMessage.Configuration).ToArray();
            try
            {
                machine = MachineBoards.FromConfiguration(board, configuration, options);
            }
            catch (SnapshotException e)
            {
                throw new MigrationException($"the source's machine cannot be built here: {e.Message}");
            }
            catch (MachineConfigurationException e)
            {
                channel.TryAbort($"the destination cannot build the machine: {e.Message}");
                throw;
            }
            // The new machine's own state, saved and restored, runs the restore's code once before the stop needs it.
            var own = new MemoryStream();
            machine.SaveState(own);
            own.Position = 0;
            using (var warm = new SnapshotStreamReader(own, own.Length)) machine.RestoreState(warm);
            var accepted = new SnapshotWriter();
            if (ownership is not null)
            {
                accepted.WriteString(ownership.Holder);
                accepted.WriteInt64(ownership.Lease);
            }
            channel.Send(MigrationMessage.Accepted, accepted.Written);
            log?.Invoke($"receiving a {board} machine with {machine.HartCount} harts and {machine.Ram.Size >> 20} MiB of RAM");

            long pages = 0;
            while (true)
            {
                var (type, payload) = channel.Receive();
                if (type == MigrationMessage.Pages)
                {
                    pages += PageBatch.Decode(payload.Span, machine.Ram);
                    continue;
                }
                if (type == MigrationMessage.Sync)
                {
                    channel.Send(MigrationMessage.Synced, []);
                    continue;
                }
                if (type != MigrationMessage.State) throw new MigrationException($"expected pages or the state, received {type}");
                using (var state = new SnapshotStreamReader(new MemoryStream(payload.ToArray()), payload.Length))
                    machine.RestoreState(state);
                break;
            }
            log?.Invoke($"received {pages:N0} pages and the state ({channel.BytesReceived:N0} bytes); waiting for the commit");
            channel.Send(MigrationMessage.Ready, []);
            try
            {
                channel.Expect(MigrationMessage.Go);
            }
            catch (MigrationException e) when (ownership is not null)
            {
                // The whole VM is here and the source is silent: etcd says whose it is.
                log?.Invoke($"no word from the source ({e.Message}); asking etcd whose VM '{vm}' is");
                if (!ownership.TakeOverAfterSilence(vm!, TimeSpan.Zero)) // as long as a dead source's lease can last
                    throw new MigrationException($"the source did not hand VM '{vm}' over: etcd names another host");
                log?.Invoke($"etcd gives VM '{vm}' to this host");
                var taken = machine;
                machine = null;
                LockImages(taken, log);
                return taken;
            }
            var go = System.Diagnostics.Stopwatch.StartNew();
            // The VM is ours from here: it runs whether or not the source hears this.
            try
            {
                Span<byte> took = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(took, (ulong)(go.Elapsed.Ticks * 100)); // nanoseconds from Go to here
                channel.Send(MigrationMessage.Running, took);
            }
            catch (MigrationException)
            {
                log?.Invoke("the source did not hear that the VM runs here: it keeps its copy paused (undecided there)");
            }
            var received = machine;
            machine = null;
            LockImages(received, log);
            return received;
        }
        catch (SnapshotException e)
        {
            channel.TryAbort($"the destination refused the state: {e.Message}");
            throw new MigrationException($"the state does not restore: {e.Message}");
        }
        catch (MigrationException e)
        {
            channel.TryAbort(e.Message);
            throw;
        }
        finally
        {
            machine?.Dispose();
        }
    }

    /// <summary>The VM is this process's: its disk images are locked here now (the source gave them up at its stop).</summary>
    private static void LockImages(IMachine machine, Action<string>? log)
    {
        try
        {
            machine.LockImages();
        }
        catch (MachineConfigurationException e)
        {
            log?.Invoke($"the VM runs here, but {e.Message}: nothing keeps another VM from writing the image meanwhile");
        }
    }
}
