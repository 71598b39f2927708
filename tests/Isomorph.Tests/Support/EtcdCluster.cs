using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using dotnet_etcd;
using Etcdserverpb;

namespace Isomorph.Tests.Support;

/// <summary>
/// Debian's etcd, started on loopback for a test: one member or a cluster of several, each on
/// ports of its own with its data in a temporary directory; killed and removed on dispose.
/// </summary>
public sealed class EtcdCluster : IDisposable
{
    private readonly DirectoryInfo _data = Directory.CreateTempSubdirectory("isomorph-etcd");
    private readonly Process?[] _members;
    private readonly int[] _clientPorts;
    /// <summary>Each member's last lines on stderr, for the message when the cluster does not come up.</summary>
    private readonly System.Collections.Concurrent.ConcurrentQueue<string>[] _logs;

    public EtcdCluster(int members = 1)
    {
        _members = new Process?[members];
        _clientPorts = new int[members];
        _logs = [.. Enumerable.Range(0, members).Select(_ => new System.Collections.Concurrent.ConcurrentQueue<string>())];
        var peerPorts = new int[members];
        for (int i = 0; i < members; i++) (_clientPorts[i], peerPorts[i]) = (Ports.Free(), Ports.Free());
        string cluster = string.Join(',', Enumerable.Range(0, members).Select(i => $"m{i}=http://127.0.0.1:{peerPorts[i]}"));
        for (int i = 0; i < members; i++)
        {
            var psi = new ProcessStartInfo("etcd")
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var a in new[]
            {
                "--name", $"m{i}", "--data-dir", Path.Combine(_data.FullName, $"m{i}"),
                "--listen-client-urls", $"http://127.0.0.1:{_clientPorts[i]}", "--advertise-client-urls", $"http://127.0.0.1:{_clientPorts[i]}",
                "--listen-peer-urls", $"http://127.0.0.1:{peerPorts[i]}", "--initial-advertise-peer-urls", $"http://127.0.0.1:{peerPorts[i]}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new", "--initial-cluster-token", _data.Name,
                "--heartbeat-interval", "50", "--election-timeout", "500",
            }) psi.ArgumentList.Add(a);
            var p = Process.Start(psi)!;
            p.OutputDataReceived += (_, _) => { };
            var log = _logs[i];
            p.ErrorDataReceived += (sender, e) =>
            {
                if (e.Data is null) return;
                log.Enqueue(e.Data);
                while (log.Count > 8) log.TryDequeue(out _);
            };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            _members[i] = p;
        }
        // Elections take a few hundred milliseconds alone; on two cores under a whole test run they
        // can take much longer (a fresh-CI run once saw none in 30 s).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (LeaderIndex() < 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                string states = string.Join("\n", Enumerable.Range(0, members).Select(i =>
                    $"m{i} ({(_members[i]!.HasExited ? $"exited with {_members[i]!.ExitCode}" : "running")}):\n  " + string.Join("\n  ", _logs[i])));
                Dispose();
                throw new InvalidOperationException($"etcd did not elect a leader in 60 s:\n{states}");
            }
            Thread.Sleep(100);
        }
    }

    /// <summary>Every member's client URL, comma-separated (what --ownership etcd: takes).</summary>
    public string Endpoints => string.Join(',', _clientPorts.Select(p => $"http://127.0.0.1:{p}"));

    /// <summary>The index of the member that leads, or -1 while none does (or none answers).</summary>
    public int LeaderIndex()
    {
        for (int i = 0; i < _members.Length; i++)
        {
            if (_members[i] is not { HasExited: false }) continue;
            try
            {
                using var client = new EtcdClient($"http://127.0.0.1:{_clientPorts[i]}");
                var status = client.Status(new StatusRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
                if (status.Leader != 0 && status.Leader == status.Header.MemberId) return i;
            }
            catch (Exception e) when (e is Grpc.Core.RpcException or OperationCanceledException or HttpRequestException)
            {
            }
        }
        return -1;
    }

    /// <summary>Kills a member (SIGKILL), as a host that died.</summary>
    public void Kill(int member)
    {
        if (_members[member] is { } p && !p.HasExited)
        {
            p.Kill();
            p.WaitForExit();
        }
    }

    /// <summary>Who the record of <paramref name="vm"/> names, or null when there is none.</summary>
    public string? Owner(string vm)
    {
        using var client = new EtcdClient(Endpoints);
        var kvs = client.Get($"/isomorph/vms/{vm}/owner").Kvs;
        return kvs.Count == 0 ? null : kvs[0].Value.ToStringUtf8();
    }


    public void Dispose()
    {
        for (int i = 0; i < _members.Length; i++) Kill(i);
        foreach (var p in _members) p?.Dispose();
        _data.Delete(recursive: true);
    }
}
