namespace Isomorph.Machines.Migration;

/// <summary>What a hand-over to another isomorph came to, as the ownership store says.</summary>
public enum HandoverOutcome
{
    /// <summary>The store names the destination: it owns the VM; this process never runs it again.</summary>
    HandedOver,
    /// <summary>The store still names this process, and no hand-over can apply later: it may run the VM on.</summary>
    StillOurs,
    /// <summary>The store could not be asked in time: nobody may run the VM until it can.</summary>
    Unknown,
}

/// <summary>The store cannot be used (unreachable, or the VM is someone else's): one line for the user.</summary>
public sealed class OwnershipException(string message) : Exception(message);

/// <summary>
/// Who owns a VM — which isomorph process may run it — decided by a store outside the two
/// processes of a migration (docs/migration.md, "Ownership in etcd"): the owner is a record
/// changed only by compare-and-swap, bound to its holder's lease, so that a process that dies or
/// is cut off loses it. Without one (null where an <see cref="IOwnership"/> is asked for), source
/// and destination decide between themselves.
/// </summary>
public interface IOwnership : IDisposable
{
    /// <summary>This process's name in the store.</summary>
    string Holder { get; }

    /// <summary>This process's lease: the source binds the record to it when it hands the VM over.</summary>
    long Lease { get; }

    /// <summary>Makes this process the owner of <paramref name="vm"/> if nobody owns it; throws <see cref="OwnershipException"/> when someone does, or the store cannot be reached.</summary>
    void Claim(string vm);

    /// <summary>Source, before the stop: asks the store once the way the hand-over will, so that the hand-over runs no code for the first time.</summary>
    void Prepare(string vm);

    /// <summary>Source, with the VM paused and the destination ready: hands <paramref name="vm"/> to <paramref name="holder"/> (its lease <paramref name="lease"/>) if this process owns it.</summary>
    HandoverOutcome HandOver(string vm, string holder, long lease, TimeSpan patience);

    /// <summary>
    /// Destination, holding the whole VM but without the source's word: gives up its part in any
    /// hand-over still to come (its lease), then takes the VM once nobody owns it any more (the source
    /// handed it over, or died and its lease ran out). True when this process now owns it; false when
    /// the source still holds it after <paramref name="patience"/> (at least a lease).
    /// </summary>
    bool TakeOverAfterSilence(string vm, TimeSpan patience);

    /// <summary>Raised (once) when this process's lease is gone: it may no longer run the VM it owned.</summary>
    event Action<string>? Lost;

    /// <summary>After <see cref="Lost"/>: a new lease, and the VM claimed again if nobody owns it (true), or false when someone does. Throws <see cref="OwnershipException"/> while the store cannot be reached.</summary>
    bool Reclaim(string vm);
}
