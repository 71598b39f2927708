using Isomorph.Machines.Snapshot;
using Isomorph.Machines.Virt;

namespace Isomorph.Machines;

/// <summary>What a restored machine takes from the process that restores it rather than from the snapshot.</summary>
public sealed record MachineRestoreOptions
{
    /// <summary>Where the UART's output goes.</summary>
    public Stream? Console { get; init; }
    /// <summary>
    /// Where a virtio-console's output goes; null: appended to the file the snapshot names, if any,
    /// opened for the life of the process (the machines a reset builds from <see cref="Virt.VirtMachine.Options"/> write there too).
    /// </summary>
    public Stream? VirtioConsole { get; init; }
    /// <summary>Stop after this many instructions on any hart, counted from boot (0: no limit).</summary>
    public long MaxInstructions { get; init; }
    /// <summary>Host threads to run the restored harts on (how the machine runs, not what it is: not in the snapshot).</summary>
    public int HostThreads { get; init; } = 1;
    /// <summary>The engine that runs the harts (null: <see cref="Riscv.Execution.ExecutionEngines.Default"/>).</summary>
    public Riscv.Execution.IExecutionEngine? Engine { get; init; }
}

/// <summary>
/// The boards Isomorph builds, by name: where the control plane turns a snapshot back into a
/// machine without knowing which board it holds. One board today: <c>virt</c>.
/// </summary>
public static class MachineBoards
{
    /// <summary>
    /// Builds the machine a snapshot holds, ready to run from where it was saved; returned only
    /// once the snapshot's checksum matched. Throws <see cref="Devices.State.SnapshotException"/>
    /// or <see cref="MachineConfigurationException"/> with one line for the user.
    /// </summary>
    public static IMachine Restore(SnapshotStreamReader snapshot, MachineRestoreOptions options) => VirtMachine.Restore(snapshot, options);

    /// <summary>
    /// Builds a machine of <paramref name="board"/> from a configuration another machine saved
    /// (<see cref="IMachine.SaveConfiguration"/>): RAM zero, harts at reset, for a migration to fill.
    /// Throws <see cref="Devices.State.SnapshotException"/> for an unknown board or a damaged
    /// configuration and <see cref="MachineConfigurationException"/> when it cannot be built here.
    /// </summary>
    public static IMachine FromConfiguration(string board, byte[] configuration, MachineRestoreOptions options) => board switch
    {
        "virt" => VirtMachine.FromConfiguration(configuration, options),
        _ => throw new Devices.State.SnapshotException($"unknown board '{board}' (this isomorph builds: virt)"),
    };
}
