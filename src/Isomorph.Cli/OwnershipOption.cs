using System.CommandLine;
using Isomorph.Machines;
using Isomorph.Machines.Migration;

namespace Isomorph.Cli;

/// <summary>
/// <c>--ownership etcd:URL[,URL…]</c> (and <c>--vm-name NAME</c>) on boot and receive: the VM's owner
/// is a record in etcd, changed only by compare-and-swap and bound to this process's lease
/// (docs/migration.md, "Ownership in etcd"). While this process owns the VM it renews the lease; if
/// the lease is lost (etcd unreachable for a whole lease), the VM is paused until this process owns
/// it again, or stopped when another does.
/// </summary>
internal sealed class OwnershipOption(IOwnership store, string? vm) : IDisposable
{
    public IOwnership Store { get; } = store;

    /// <summary>The VM's name in the store: given or made up by boot, learned from the source by receive.</summary>
    public string? Vm { get; set; } = vm;

    public static Option<string?> StoreOption() => new("--ownership")
    {
        Description = "keep the VM's owner in etcd (etcd:http://HOST:PORT[,http://HOST:PORT…]), so that a migration's hand-over is decided there: give both sides the same store",
    };

    public static Option<string?> VmNameOption() => new("--vm-name")
    {
        Description = "the VM's name in the --ownership store (default: a new name, printed)",
    };

    /// <summary>Connects to the store <paramref name="spec"/> names; null with <paramref name="error"/> when it cannot.</summary>
    public static OwnershipOption? Connect(string spec, string? vm, out string? error)
    {
        error = null;
        if (!spec.StartsWith("etcd:", StringComparison.Ordinal))
        {
            error = $"--ownership '{spec}': expected etcd:http://HOST:PORT[,…]";
            return null;
        }
        if (vm is not null && (vm.Length is 0 or > 200 || vm.Any(c => char.IsControl(c) || c == '/')))
        {
            error = $"--vm-name '{vm}': give 1 to 200 characters, no '/' or control characters";
            return null;
        }
        try
        {
            return new OwnershipOption(EtcdOwnership.Connect(spec["etcd:".Length..]), vm);
        }
        catch (OwnershipException e)
        {
            error = e.Message;
            return null;
        }
    }

    /// <summary>What a migration started from this process uses.</summary>
    public MigrationOptions Migration => new() { Ownership = Store, Vm = Vm };

    /// <summary>From now on, a lost lease pauses the VM in <paramref name="slot"/> until this process owns it again (or stops it when another does).</summary>
    public void Guard(MachineSlot slot)
    {
        Store.Lost += reason => new Thread(() =>
        {
            Console.Error.WriteLine($"isomorph: {reason}: VM '{Vm}' is paused until this host owns it again in etcd");
            slot.Use(m => m.Pause());
            while (true)
            {
                Thread.Sleep(1000);
                try
                {
                    if (Store.Reclaim(Vm!))
                    {
                        Console.Error.WriteLine($"isomorph: this host owns VM '{Vm}' again: it runs on");
                        slot.Use(m => m.Resume());
                    }
                    else
                    {
                        Console.Error.WriteLine($"isomorph: VM '{Vm}' is owned by another host in etcd: it stops here");
                        slot.Use(m => m.Stop());
                    }
                    return;
                }
                catch (OwnershipException)
                {
                }
            }
        }) { IsBackground = true, Name = "etcd ownership" }.Start();
    }

    public void Dispose() => Store.Dispose();
}
