using Xunit;

namespace Isomorph.Tests.Support;

/// <summary>
/// A network namespace joined to the test's by a veth pair (10.X.0.1 outside, 10.X.0.2 inside),
/// as two hosts on one link: a process started in it (ip netns exec) has its own network stack.
/// Needs CAP_SYS_ADMIN and CAP_NET_ADMIN; removed on dispose.
/// </summary>
public sealed class NetworkNamespace : IDisposable
{
    private readonly string _outside;

    public NetworkNamespace()
    {
        int x = Random.Shared.Next(100, 250);
        Name = $"isomorph-{Environment.ProcessId}-{x}";
        _outside = $"iso{x}o";
        string inside = $"iso{x}i";
        (OutsideAddress, InsideAddress) = ($"10.{x}.0.1", $"10.{x}.0.2");
        try
        {
            Ip("netns", "add", Name);
            Ip("link", "add", _outside, "type", "veth", "peer", "name", inside, "netns", Name);
            Ip("addr", "add", $"{OutsideAddress}/24", "dev", _outside);
            Ip("link", "set", _outside, "up");
            Ip("-n", Name, "addr", "add", $"{InsideAddress}/24", "dev", inside);
            Ip("-n", Name, "link", "set", inside, "up");
            Ip("-n", Name, "link", "set", "lo", "up");
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public string Name { get; }
    public string OutsideAddress { get; }
    public string InsideAddress { get; }

    private static void Ip(params string[] args)
    {
        var r = Repository.Run("ip", args, TimeSpan.FromSeconds(20));
        if (r.ExitCode != 0) throw new InvalidOperationException($"ip {string.Join(' ', args)}: {r.Stderr.Trim()}");
    }

    public void Dispose()
    {
        Repository.Run("ip", ["link", "del", _outside], TimeSpan.FromSeconds(20)); // takes its peer with it
        Repository.Run("ip", ["netns", "del", Name], TimeSpan.FromSeconds(20));
    }
}

/// <summary>A test that needs a network namespace of its own: skipped, visibly, where this process may not make one.</summary>
public sealed class NetworkNamespaceFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        try
        {
            using (new NetworkNamespace()) return null;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return $"no network namespace can be made here ({e.Message})";
        }
    });

    public NetworkNamespaceFactAttribute()
    {
        if (Missing.Value is { } reason) Skip = reason;
    }
}
