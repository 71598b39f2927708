using System.Buffers.Binary;
using System.Text;
using Isomorph.Linux.Memory;

namespace Isomorph.Linux.Loading;

/// <summary>
/// Builds the stack a new process starts with, as Linux's ELF loader does: from the stack pointer
/// up, argc, the argv pointers and a NULL, the envp pointers and a NULL, the auxiliary vector
/// ending in AT_NULL; above them the strings they point to and AT_RANDOM's 16 bytes.
/// </summary>
public static class InitialStack
{
    /// <summary>Writes the initial stack below <paramref name="top"/> and returns the stack pointer (16-byte aligned).</summary>
    public static unsafe ulong Build(GuestAddressSpace space, ulong top, IReadOnlyList<string> argv, IReadOnlyList<string> envp,
        string execFn, IReadOnlyList<(ulong Key, ulong Value)> auxv)
    {
        ulong sp = top;
        ulong PushBytes(ReadOnlySpan<byte> bytes)
        {
            sp -= (ulong)bytes.Length;
            space.Write(sp, bytes);
            return sp;
        }
        ulong PushString(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            return PushBytes(bytes);
        }

        sp -= 8; // an end marker word of zero, as Linux leaves above the strings
        ulong execFnAddress = PushString(execFn);
        var envAddresses = envp.Reverse().Select(PushString).Reverse().ToArray();
        var argAddresses = argv.Reverse().Select(PushString).Reverse().ToArray();
        sp &= ~15ul;
        // AT_RANDOM's 16 bytes from the host kernel's getrandom, as Linux fills them (the .NET
        // RandomNumberGenerator would load OpenSSL first: tens of milliseconds at every start).
        Span<byte> random = stackalloc byte[16];
        fixed (byte* bytes = random)
            if (Host.Libc.getrandom(bytes, 16, 0) != 16) throw new IOException("getrandom failed");
        ulong randomAddress = PushBytes(random);

        var vector = new List<(ulong, ulong)>(auxv) { (Auxv.Random, randomAddress), (Auxv.Execfn, execFnAddress), (Auxv.Null, 0) };
        int words = 1 + argAddresses.Length + 1 + envAddresses.Length + 1 + 2 * vector.Count;
        sp = (sp - (ulong)words * 8) & ~15ul;

        var block = new byte[words * 8];
        int at = 0;
        void Word(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(block.AsSpan(at), value);
            at += 8;
        }
        Word((ulong)argAddresses.Length);
        foreach (var a in argAddresses) Word(a);
        Word(0);
        foreach (var e in envAddresses) Word(e);
        Word(0);
        foreach (var (key, value) in vector)
        {
            Word(key);
            Word(value);
        }
        space.Write(sp, block);
        return sp;
    }
}
