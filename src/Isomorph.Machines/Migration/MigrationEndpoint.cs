using System.Net;
using System.Net.Sockets;
using Isomorph.Devices.State;

namespace Isomorph.Machines.Migration;

/// <summary>The TCP ends of a migration, and the first message both sides check.</summary>
public static class MigrationEndpoint
{
    private static ReadOnlySpan<byte> Magic => "ISOMMIGR"u8;

    /// <summary>The protocol's version: both sides must speak the same one.</summary>
    public const uint Version = 2;

    /// <summary>Parses HOST:PORT (an IPv6 address in brackets); null with <paramref name="error"/> when it is not one.</summary>
    public static (string Host, int Port)? Parse(string text, out string? error)
    {
        error = null;
        int colon = text.LastIndexOf(':');
        string host = colon > 0 ? text[..colon].Trim('[', ']') : "";
        if (colon <= 0 || host.Length == 0 || !int.TryParse(text[(colon + 1)..], out int port) || port is < 1 or > 65535)
        {
            error = $"'{text}' is not HOST:PORT (a port from 1 to 65535)";
            return null;
        }
        return (host, port);
    }

    /// <summary>Opens a connection to HOST:PORT, with <paramref name="timeout"/> on the connect and on every read and write after.</summary>
    public static NetworkStream Connect(string destination, TimeSpan timeout)
    {
        if (Parse(destination, out string? error) is not var (host, port)) throw new MigrationException(error!);
        var client = new TcpClient { NoDelay = true };
        try
        {
            using var cancel = new CancellationTokenSource(timeout);
            client.ConnectAsync(host, port, cancel.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            client.Dispose();
            throw new MigrationException($"cannot reach {destination}: {(e is OperationCanceledException ? "no answer in time" : e.Message)}");
        }
        return Stream(client.Client, timeout);
    }

    /// <summary>A connection's stream, owning the socket, with <paramref name="timeout"/> on every read and write.</summary>
    public static NetworkStream Stream(Socket socket, TimeSpan timeout)
    {
        socket.NoDelay = true;
        socket.SendTimeout = socket.ReceiveTimeout = (int)Math.Min(timeout.TotalMilliseconds, int.MaxValue);
        return new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Listens on HOST:PORT; null with <paramref name="error"/> when it cannot.</summary>
    public static TcpListener? Listen(string endpoint, out string? error)
    {
        if (Parse(endpoint, out error) is not var (host, port)) return null;
        IPAddress? address = host is "*" or "0.0.0.0" ? IPAddress.Any : IPAddress.TryParse(host, out var parsed) ? parsed : null;
        if (address is null)
        {
            try
            {
                address = Dns.GetHostAddresses(host).FirstOrDefault();
            }
            catch (SocketException)
            {
            }
        }
        if (address is null)
        {
            error = $"{host}: no such host";
            return null;
        }
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start(1);
            return listener;
        }
        catch (SocketException e)
        {
            error = $"cannot listen on {endpoint}: {e.Message}";
            return null;
        }
    }

    /// <summary>The Hello message: magic, version, board, the VM's name in the ownership store (or null: no store).</summary>
    internal static byte[] Hello(string board, string? vm)
    {
        var w = new SnapshotWriter();
        foreach (byte b in Magic) w.WriteByte(b);
        w.WriteUInt32(Version);
        w.WriteString(board);
        w.WriteString(vm);
        return w.Written.ToArray();
    }

    /// <summary>Checks a Hello; returns the board and the VM's name in the ownership store.</summary>
    internal static (string Board, string? Vm) CheckHello(ReadOnlyMemory<byte> payload)
    {
        try
        {
            var r = new SnapshotReader("hello", payload);
            Span<byte> magic = stackalloc byte[8];
            for (int i = 0; i < magic.Length; i++) magic[i] = r.ReadByte();
            if (!magic.SequenceEqual(Magic)) throw new MigrationException("the connection is not an Isomorph migration");
            uint version = r.ReadUInt32();
            if (version != Version) throw new MigrationException($"the source speaks migration protocol {version}; this isomorph speaks {Version}");
            string board = r.ReadString() ?? throw new MigrationException("a Hello without a board");
            string? vm = r.ReadString();
            r.ExpectEnd();
            return (board, vm);
        }
        catch (SnapshotException)
        {
            throw new MigrationException("the connection is not an Isomorph migration");
        }
    }
}
