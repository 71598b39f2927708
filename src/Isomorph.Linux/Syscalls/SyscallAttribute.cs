namespace Isomorph.Linux.Syscalls;

/// <summary>
/// Marks a static method <c>long Name(LinuxProcess p, in SyscallArgs a)</c> as the handler of riscv64
/// system call <paramref name="number"/>. <paramref name="arguments"/> tells --strace how to print
/// each argument, one letter per argument: d signed decimal, u unsigned decimal, x hex, s a guest
/// string, o octal.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = true)]
public sealed class SyscallAttribute(int number, string name, string arguments = "") : Attribute
{
    public int Number { get; } = number;
    public string Name { get; } = name;
    public string Arguments { get; } = arguments;
}

/// <summary>The six argument registers of a system call (a0–a5).</summary>
public readonly record struct SyscallArgs(ulong A0, ulong A1, ulong A2, ulong A3, ulong A4, ulong A5)
{
    public ulong this[int i] => i switch { 0 => A0, 1 => A1, 2 => A2, 3 => A3, 4 => A4, _ => A5 };

    /// <summary>An argument as a C int (the low 32 bits, sign-extended).</summary>
    public int Int(int i) => (int)this[i];
}
