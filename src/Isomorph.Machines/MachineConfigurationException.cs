namespace Isomorph.Machines;

/// <summary>A machine cannot be built from what the user gave (a file, a size, a flag): one line for stderr.</summary>
public sealed class MachineConfigurationException(string message) : Exception(Devices.State.SnapshotException.OneLine(message));
