using System.Diagnostics;
using dotnet_etcd;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Isomorph.Machines.Migration;

/// <summary>
/// VM ownership in etcd (<c>--ownership etcd:URL[,URL…]</c>): the record
/// <c>/isomorph/vms/NAME/owner</c> names the process that may run the VM, is bound to that process's
/// lease (<see cref="LeaseSeconds"/>, renewed a few times a lease), and changes only by
/// compare-and-swap transactions, so etcd's consensus decides every hand-over. The protocol and what
/// each side does on each answer are in docs/migration.md.
/// </summary>
public sealed class EtcdOwnership : IOwnership
{
    /// <summary>How long a holder that stops renewing keeps its record.</summary>
    public const int LeaseSeconds = 5;

    /// <summary>How long after its last renewal a holder stops running the VM: well before etcd could drop its record.</summary>
    public const int FenceSeconds = LeaseSeconds - 2;

    private static readonly TimeSpan Call = TimeSpan.FromSeconds(2);
    private readonly EtcdClient _client;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _keeper;
    private long _lease, _renewed;
    private int _lost;

    private EtcdOwnership(EtcdClient client, long lease)
    {
        _client = client;
        _lease = lease;
        _renewed = Stopwatch.GetTimestamp();
        Holder = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
        _keeper = new Thread(KeepAlive) { IsBackground = true, Name = "etcd lease" };
        _keeper.Start();
    }

    public string Holder { get; }
    public long Lease => Interlocked.Read(ref _lease);
    public event Action<string>? Lost;

    /// <summary>Connects to etcd at <paramref name="endpoints"/> (comma-separated URLs) and takes a lease; throws <see cref="OwnershipException"/> when it cannot.</summary>
    public static EtcdOwnership Connect(string endpoints)
    {
        if (endpoints.Split(',').Any(e => !Uri.TryCreate(e, UriKind.Absolute, out var u) || u.Scheme is not ("http" or "https")))
            throw new OwnershipException($"'{endpoints}' is not a list of etcd URLs (http://HOST:PORT, comma-separated)");
        var client = new EtcdClient(endpoints);
        try
        {
            var lease = client.LeaseGrant(new LeaseGrantRequest { TTL = LeaseSeconds }, deadline: Deadline(TimeSpan.FromSeconds(5)));
            return new EtcdOwnership(client, lease.ID);
        }
        catch (RpcException e)
        {
            client.Dispose();
            throw new OwnershipException($"etcd at {endpoints} cannot be reached: {e.Status.Detail}");
        }
    }

    private static DateTime Deadline(TimeSpan after) => DateTime.UtcNow + after;
    private static ByteString Key(string vm) => ByteString.CopyFromUtf8($"/isomorph/vms/{vm}/owner");

    public void Claim(string vm)
    {
        try
        {
            if (TryCreate(vm, Lease) is not { } other || other == Holder) return;
            throw new OwnershipException($"VM '{vm}' is owned by {other} in etcd: it runs there");
        }
        catch (RpcException e)
        {
            throw new OwnershipException($"etcd cannot be reached to claim VM '{vm}': {e.Status.Detail}");
        }
    }

    /// <summary>Creates the record naming this process (bound to <paramref name="lease"/>) if there is none; null when it did, otherwise the holder named.</summary>
    private string? TryCreate(string vm, long lease) => TryCreate(vm, Holder, lease);

    /// <summary>Creates the record naming <paramref name="holder"/> (bound to <paramref name="lease"/>) if there is none; null when it did, otherwise the holder named.</summary>
    private string? TryCreate(string vm, string holder, long lease)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Key(vm), Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Key(vm), Value = ByteString.CopyFromUtf8(holder), Lease = lease } });
        txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = Key(vm) } });
        var answer = _client.Transaction(txn, deadline: Deadline(Call));
        if (answer.Succeeded) return null;
        var kvs = answer.Responses[0].ResponseRange.Kvs;
        return kvs.Count == 0 ? "" : kvs[0].Value.ToStringUtf8();
    }

    /// <summary>The record: its holder and modification revision, or null when there is none.</summary>
    private (string Holder, long Revision)? Read(string vm)
    {
        var answer = _client.Get(new RangeRequest { Key = Key(vm) }, deadline: Deadline(Call));
        return answer.Kvs.Count == 0 ? null : (answer.Kvs[0].Value.ToStringUtf8(), answer.Kvs[0].ModRevision);
    }

    /// <summary>Rewrites the record as it is, if it still has revision <paramref name="revision"/> and names <paramref name="holder"/> with <paramref name="lease"/>: a hand-over compared against the old revision can no longer apply.</summary>
    private bool Swap(string vm, long revision, string holder, long lease)
    {
        var txn = new TxnRequest();
        txn.Compare.Add(new Compare { Key = Key(vm), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = revision });
        txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = Key(vm), Value = ByteString.CopyFromUtf8(holder), Lease = lease } });
        return _client.Transaction(txn, deadline: Deadline(Call)).Succeeded;
    }

    public void Prepare(string vm)
    {
        try
        {
            Read(vm);
            var nothing = new TxnRequest(); // a transaction whose comparison fails: it changes nothing
            nothing.Compare.Add(new Compare { Key = Key(vm), Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal, ModRevision = -1 });
            _client.Transaction(nothing, deadline: Deadline(Call));
        }
        catch (RpcException)
        {
        }
    }

    public HandoverOutcome HandOver(string vm, string holder, long lease, TimeSpan patience)
    {
        var deadline = Stopwatch.StartNew();
        bool attempted = false;
        while (deadline.Elapsed < patience)
        {
            try
            {
                var record = Read(vm);
                if (record is { } r && r.Holder == holder) return HandoverOutcome.HandedOver;
                if (record is { } other && other.Holder != Holder) return HandoverOutcome.HandedOver; // not ours: never run it here
                if (!attempted)
                {
                    // The commit point: the record names the destination, bound to its lease.
                    attempted = true;
                    bool done = record is { } mine ? Swap(vm, mine.Revision, holder, lease) : TryCreate(vm, holder, lease) is null;
                    if (done) return HandoverOutcome.HandedOver;
                    continue; // the record changed meanwhile: read it again
                }
                // After a failed or unanswered attempt: settle it. The record names this process (or nobody):
                // rewrite it for this process, so that an attempt still on its way cannot apply later.
                if (record is { } ours ? Swap(vm, ours.Revision, Holder, Lease) : TryCreate(vm, Lease) is null) return HandoverOutcome.StillOurs;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                // "requested lease not found": the destination gave up its lease, so nothing was written.
                attempted = true;
            }
            catch (RpcException)
            {
                attempted = true; // unanswered: it may or may not have applied; settle it when etcd answers
                Thread.Sleep(200);
            }
        }
        return HandoverOutcome.Unknown;
    }

    public bool TakeOverAfterSilence(string vm, TimeSpan patience)
    {
        var deadline = Stopwatch.StartNew();
        bool revoked = false;
        // A source that died keeps its record for up to a lease: wait that long at least before giving up.
        if (patience < TimeSpan.FromSeconds(LeaseSeconds + 2)) patience = TimeSpan.FromSeconds(LeaseSeconds + 2);
        while (deadline.Elapsed < patience)
        {
            try
            {
                if (!revoked)
                {
                    // The source binds the hand-over to this lease: revoked, no hand-over can apply from now
                    // on, and one that applied before is gone with it (the record goes with its lease).
                    try
                    {
                        _client.LeaseRevoke(new LeaseRevokeRequest { ID = Lease }, deadline: Deadline(Call));
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                    {
                    }
                    revoked = true;
                    Interlocked.Exchange(ref _lease, _client.LeaseGrant(new LeaseGrantRequest { TTL = LeaseSeconds }, deadline: Deadline(Call)).ID);
                    Interlocked.Exchange(ref _renewed, Stopwatch.GetTimestamp());
                }
                var record = Read(vm);
                if (record is { } r && r.Holder == Holder) return true;
                // Nobody owns it: the source handed it over (and the record went with the old lease) or died.
                if (record is null && TryCreate(vm, Lease) is null) return true;
                // The source still holds it: it runs it on (and will keep renewing), or it died (the record goes with its lease).
                Thread.Sleep(250);
            }
            catch (RpcException)
            {
                Thread.Sleep(200);
            }
        }
        return false;
    }

    /// <summary>Renews the lease a few times a lease; raises <see cref="Lost"/> once it has gone unrenewed for a whole lease, or etcd says it is gone.</summary>
    private void KeepAlive()
    {
        while (!_stop.IsCancellationRequested)
        {
            if (_stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(LeaseSeconds / 5.0))) return;
            long ttl = -1;
            try
            {
                _client.LeaseKeepAlive(new LeaseKeepAliveRequest { ID = Lease }, r => ttl = r.TTL, _stop.Token, null).Wait(Call);
            }
            catch (Exception e) when (e is AggregateException or RpcException or OperationCanceledException)
            {
            }
            if (ttl > 0) Interlocked.Exchange(ref _renewed, Stopwatch.GetTimestamp());
            // This side gives the lease up FenceSeconds after its last renewal, before etcd can drop the record
            // (a lease after etcd renewed it, which was before the answer came): the VM pauses here before
            // another host could take it.
            if (ttl == 0 || Stopwatch.GetElapsedTime(Interlocked.Read(ref _renewed)) > TimeSpan.FromSeconds(FenceSeconds))
            {
                if (Interlocked.Exchange(ref _lost, 1) == 0)
                    Lost?.Invoke(ttl == 0 ? "etcd says this host's lease has expired" : $"this host's lease went unrenewed for {FenceSeconds} s (etcd unreachable)");
            }
        }
    }

    /// <summary>After <see cref="Lost"/>: takes a new lease and claims <paramref name="vm"/> again if nobody owns it (true), or learns someone does (false). Throws <see cref="OwnershipException"/> while etcd cannot be reached.</summary>
    public bool Reclaim(string vm)
    {
        try
        {
            var record = Read(vm);
            if (record is { } r && r.Holder != Holder) return false;
            Interlocked.Exchange(ref _lease, _client.LeaseGrant(new LeaseGrantRequest { TTL = LeaseSeconds }, deadline: Deadline(Call)).ID);
            Interlocked.Exchange(ref _renewed, Stopwatch.GetTimestamp());
            bool ours = record is { } mine ? Swap(vm, mine.Revision, Holder, Lease) : TryCreate(vm, Lease) is null;
            if (ours) Interlocked.Exchange(ref _lost, 0);
            return ours;
        }
        catch (RpcException e)
        {
            throw new OwnershipException($"etcd cannot be reached: {e.Status.Detail}");
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _keeper.Join(TimeSpan.FromSeconds(5));
        try
        {
            _client.LeaseRevoke(new LeaseRevokeRequest { ID = Lease }, deadline: Deadline(TimeSpan.FromSeconds(1)));
        }
        catch (RpcException)
        {
        }
        _client.Dispose();
    }
}
