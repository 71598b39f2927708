using System.Buffers.Binary;
using System.IO.Hashing;
using System.Net;
using System.Net.Sockets;
using CsCheck;
using Isomorph.Machines;
using Isomorph.Machines.Migration;
using Isomorph.Machines.Virt;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The destination's side of a migration reads the network: a buggy or hostile source must get a
/// clean refusal (<see cref="MigrationException"/>, or <see cref="MachineConfigurationException"/>
/// for a machine that cannot be built here), never a crash or a hang. A real migration of a small
/// machine is recorded as the source sent it; then messages are damaged (a byte changed, the length
/// at the edges, dropped, repeated, the stream cut) with each frame's checksum made valid again, so
/// that the damage reaches the parsers (the configuration, the pages, the state), and fed to
/// <see cref="MigrationDestination.Receive(Stream, MachineRestoreOptions, Action{string}?)"/>.
/// ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED control the run (<see cref="Fuzz"/>).
/// </summary>
public sealed class MigrationFuzzTests
{
    private sealed record Frame(byte Type, byte[] Payload);

    /// <summary>The source's messages of one successful migration of a 16 MiB machine running dirty-writer.</summary>
    private static List<Frame> Recorded()
    {
        using var machine = new VirtMachine(new VirtOptions { Firmware = null, Kernel = GuestPrograms.Path("virt/dirty-writer.elf"), MemorySize = 16ul << 20 });
        var run = Task.Run(machine.Run);
        while (machine.Instructions < 1_000_000) Thread.Sleep(5);
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var receiving = Task.Run(() =>
        {
            using var received = MigrationDestination.Receive(new NetworkStream(listener.AcceptSocket(), ownsSocket: true), new MachineRestoreOptions());
        });
        var recorder = new Recorder(MigrationEndpoint.Connect($"127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}", TimeSpan.FromSeconds(10)));
        var outcome = new MigrationSource(machine, "recorded", new MigrationOptions()).Run(recorder);
        Assert.True(outcome.Phase == MigrationPhase.Succeeded, $"the recorded migration ended {outcome.Phase}: {outcome.Message}");
        receiving.Wait(TimeSpan.FromSeconds(30));
        listener.Stop();
        machine.Stop();
        run.Wait(TimeSpan.FromSeconds(30));
        return Split(recorder.Sent.ToArray());
    }

    /// <summary>A connection that keeps a copy of what is written to it.</summary>
    private sealed class Recorder(Stream inner) : Stream
    {
        public MemoryStream Sent { get; } = new();
        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Sent.Write(buffer);
            inner.Write(buffer);
        }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override void Flush() => inner.Flush();
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        protected override void Dispose(bool disposing) => inner.Dispose();
    }

    private static List<Frame> Split(byte[] stream)
    {
        var frames = new List<Frame>();
        for (int at = 0; at < stream.Length;)
        {
            int length = BinaryPrimitives.ReadInt32LittleEndian(stream.AsSpan(at + 1));
            frames.Add(new Frame(stream[at], stream.AsSpan(at + 5, length).ToArray()));
            at += 5 + length + 8;
        }
        return frames;
    }

    /// <summary>The frames as a stream, each with a valid checksum; cut after <paramref name="cut"/> bytes when given.</summary>
    private static byte[] Join(IEnumerable<Frame> frames, int? cut = null)
    {
        var stream = new MemoryStream();
        foreach (var f in frames)
        {
            var head = new byte[5];
            head[0] = f.Type;
            BinaryPrimitives.WriteInt32LittleEndian(head.AsSpan(1), f.Payload.Length);
            var hash = new XxHash3();
            hash.Append(head);
            hash.Append(f.Payload);
            stream.Write(head);
            stream.Write(f.Payload);
            Span<byte> sum = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(sum, hash.GetCurrentHashAsUInt64());
            stream.Write(sum);
        }
        var bytes = stream.ToArray();
        return cut is { } n ? bytes[..Math.Min(n, bytes.Length)] : bytes;
    }

    /// <summary>The recorded source as the other end of a connection: its messages to read, the destination's answers dropped.</summary>
    private sealed class Replay(byte[] source) : Stream
    {
        private readonly MemoryStream _source = new(source);
        public override int Read(byte[] buffer, int offset, int count) => _source.Read(buffer, offset, count);
        public override void Write(byte[] buffer, int offset, int count) { }
        public override void Flush() { }
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
    }

    [Fact]
    public void DamagedMigrationStreams_AreRefusedCleanly_OrGiveAMachine()
    {
        var good = Recorded();
        // Unchanged, the recording gives a machine: the damage below is what makes the difference.
        using (MigrationDestination.Receive(new Replay(Join(good)), new MachineRestoreOptions())) { }

        var index = Gen.Int[0, good.Count - 1];
        var damage = Gen.OneOf(
            Gen.Select(index, Gen.Int, Gen.Byte, (i, at, value) => ("a byte changed", (Func<List<Frame>, byte[]>)(frames =>
            {
                var copy = frames.ToList();
                var payload = (byte[])copy[i].Payload.Clone();
                if (payload.Length > 0) payload[(int)((uint)at % payload.Length)] = value;
                copy[i] = copy[i] with { Payload = payload };
                return Join(copy);
            }))),
            Gen.Select(index, Gen.Int[0, 64], (i, bytes) => ("a payload cut short or padded", (Func<List<Frame>, byte[]>)(frames =>
            {
                var copy = frames.ToList();
                var payload = copy[i].Payload;
                copy[i] = copy[i] with { Payload = bytes % 2 == 0 ? payload[..Math.Max(0, payload.Length - bytes)] : [.. payload, .. new byte[bytes]] };
                return Join(copy);
            }))),
            Gen.Select(index, Gen.Byte, (i, type) => ("a message's type changed", (Func<List<Frame>, byte[]>)(frames =>
            {
                var copy = frames.ToList();
                copy[i] = copy[i] with { Type = type };
                return Join(copy);
            }))),
            Gen.Select(index, Gen.Bool, (i, drop) => (drop ? "a message dropped" : "a message repeated", (Func<List<Frame>, byte[]>)(frames =>
            {
                var copy = frames.ToList();
                if (drop) copy.RemoveAt(i);
                else copy.Insert(i, copy[i]);
                return Join(copy);
            }))),
            Gen.Int[0, 1 << 20].Select(n => ("the stream cut", (Func<List<Frame>, byte[]>)(frames => Join(frames, n)))));

        Fuzz.Check(damage, d =>
        {
            try
            {
                using (MigrationDestination.Receive(new Replay(d.Item2(good)), new MachineRestoreOptions())) { }
            }
            catch (Exception e) when (e is MigrationException or MachineConfigurationException)
            {
            }
        }, defaultIterations: 200, describe: d => d.Item1);
    }
}
