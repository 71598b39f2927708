namespace Isomorph.Machines;

/// <summary>
/// The machine of the moment in a running VM (a library MachineSession, <c>isomorph boot</c>): a
/// reset replaces it with a fresh one, and a finished machine is disposed (its RAM unmapped). Threads that act on it from outside — console
/// input, signal handlers, the API — go through <see cref="Use"/>, which keeps the machine from
/// being retired while they do, or, for work that takes long (a migration), through
/// <see cref="Lease{T}"/>, which does the same without holding up the others; after
/// <see cref="Retire"/> they find none.
/// </summary>
public sealed class MachineSlot(IMachine? first)
{
    private readonly object _gate = new(); // a monitor: Retire waits on it for leases to end
    private IMachine? _current = first; // none yet while a migration's destination waits for the VM
    private int _leases;

    /// <summary>Runs <paramref name="action"/> on the current machine; false (nothing run) when there is none.</summary>
    public bool Use(Action<IMachine> action)
    {
        lock (_gate)
        {
            if (_current is not { } machine) return false;
            action(machine);
            return true;
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> on the current machine while others use it too; the machine
    /// is not retired until it returns. <paramref name="none"/> when there is no machine.
    /// </summary>
    public T Lease<T>(Func<IMachine, T> action, T none)
    {
        IMachine machine;
        lock (_gate)
        {
            if (_current is null) return none;
            machine = _current;
            _leases++;
        }
        try
        {
            return action(machine);
        }
        finally
        {
            lock (_gate)
            {
                _leases--;
                Monitor.PulseAll(_gate);
            }
        }
    }

    /// <summary>Takes the machine away, waiting for anyone using it; afterwards it may be disposed.</summary>
    public void Retire()
    {
        lock (_gate)
        {
            _current = null;
            while (_leases > 0) Monitor.Wait(_gate);
        }
    }

    /// <summary>Puts a new machine in place (after a reset).</summary>
    public void Install(IMachine machine)
    {
        lock (_gate) _current = machine;
    }
}
