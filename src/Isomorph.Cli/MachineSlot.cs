using Isomorph.Machines;

namespace Isomorph.Cli;

/// <summary>
/// The machine of the moment in <c>isomorph boot</c>: a reset replaces it with a fresh one, and a
/// finished machine is disposed (its RAM unmapped). Threads that act on it from outside — console
/// input, signal handlers, the API — go through <see cref="Use"/>, which keeps the machine from
/// being retired while they do; after <see cref="Retire"/> they find none.
/// </summary>
public sealed class MachineSlot(IMachine first)
{
    private readonly Lock _gate = new();
    private IMachine? _current = first;

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

    /// <summary>Takes the machine away, waiting for anyone using it; afterwards it may be disposed.</summary>
    public void Retire()
    {
        lock (_gate) _current = null;
    }

    /// <summary>Puts a new machine in place (after a reset).</summary>
    public void Install(IMachine machine)
    {
        lock (_gate) _current = machine;
    }
}
