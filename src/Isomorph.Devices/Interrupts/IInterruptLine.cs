namespace Isomorph.Devices.Interrupts;

/// <summary>
/// A level-triggered interrupt wire from a device to an interrupt controller (or from a controller
/// to a processor). The device asserts it while it wants service; it knows nothing of what listens.
/// </summary>
public interface IInterruptLine
{
    void Set(bool asserted);
}

/// <summary>Interrupt lines built from callbacks, and a line that goes nowhere.</summary>
public static class InterruptLine
{
    public static readonly IInterruptLine None = new Callback(_ => { });

    public static IInterruptLine From(Action<bool> set) => new Callback(set);

    private sealed class Callback(Action<bool> set) : IInterruptLine
    {
        public void Set(bool asserted) => set(asserted);
    }
}
