using System.Text;

namespace Isomorph.Tests.Machines;

/// <summary>A write-only stream that collects a machine's console output and lets a test wait for text in it.</summary>
public sealed class ConsoleCapture : Stream
{
    private readonly StringBuilder _text = new();
    private readonly object _gate = new();

    public string Text
    {
        get { lock (_gate) return _text.ToString(); }
    }

    /// <summary>Waits until <paramref name="expected"/> appears after position <paramref name="from"/>; returns the index just past it, or -1.</summary>
    public int WaitFor(string expected, TimeSpan timeout, int from = 0)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_gate)
        {
            while (true)
            {
                int at = _text.ToString().IndexOf(expected, Math.Min(from, _text.Length), StringComparison.Ordinal);
                if (at >= 0) return at + expected.Length;
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return -1;
                Monitor.Wait(_gate, left);
            }
        }
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        lock (_gate)
        {
            foreach (byte b in buffer) _text.Append((char)b);
            Monitor.PulseAll(_gate);
        }
    }

    public override void WriteByte(byte value) => Write([value]);
    public override void Flush() { }
    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
