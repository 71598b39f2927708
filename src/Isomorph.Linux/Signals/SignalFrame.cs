namespace Isomorph.Linux.Signals;

/// <summary>
/// What the kernel says about a signal (the fields of siginfo_t the process VM fills): number,
/// code, the sending process and user, the faulting address, a child's status.
/// </summary>
public readonly record struct SignalInfo(int Signal, int Code, int Pid = 0, uint Uid = 0, ulong Address = 0, int Status = 0)
{
    public const int SiUser = 0, SiTkill = -6;
    public const int SegvMaperr = 1, SegvAccerr = 2, BusAdraln = 1, BusAdrerr = 2, IllIllopc = 1, TrapBrkpt = 1, CldExited = 1, CldKilled = 2, CldDumped = 3;
    public const int Size = 128;

    /// <summary>siginfo_t as riscv64 (and every 64-bit Linux) lays it out: signo, errno, code, then the union at 16.</summary>
    public unsafe void WriteTo(byte* at, bool fault)
    {
        new Span<byte>(at, Size).Clear();
        *(int*)at = Signal;
        *(int*)(at + 8) = Code;
        if (fault)
        {
            *(ulong*)(at + 16) = Address;
            return;
        }
        *(int*)(at + 16) = Pid;
        *(uint*)(at + 20) = Uid;
        *(int*)(at + 24) = Status;
    }
}

/// <summary>
/// The riscv64 signal frame the kernel pushes (arch/riscv/kernel/signal.c, asm/ucontext.h,
/// asm/sigcontext.h): struct rt_sigframe { siginfo (128 bytes); ucontext { uc_flags, uc_link,
/// uc_stack, uc_sigmask padded to 128 bytes, then — 16-byte aligned — uc_mcontext = sigcontext {
/// sc_regs: pc, x1..x31; sc_fpregs: the union whose D member is f0..f31 and fcsr, sized as the Q
/// member (528 bytes) } } }, 16-byte aligned below the stack pointer.
/// </summary>
public static class SignalFrame
{
    public const ulong UcontextOffset = SignalInfo.Size;
    public const ulong UcFlags = UcontextOffset, UcLink = UcontextOffset + 8, UcStack = UcontextOffset + 16;
    public const ulong UcSigmask = UcontextOffset + 40;
    public const ulong Mcontext = UcontextOffset + 176;
    /// <summary>sc_regs: the pc, then x1..x31 (x1 at Regs + 8).</summary>
    public const ulong Regs = Mcontext;
    public const ulong FpRegs = Mcontext + 256;
    public const ulong Fcsr = FpRegs + 256;
    public const ulong FpStateSize = 528;
    public const ulong Size = FpRegs + FpStateSize;

    /// <summary>
    /// The trampoline handlers return through: li a7, 139 (rt_sigreturn); ecall — the instructions
    /// unwinders recognise. At <see cref="CallReturnOffset"/>, where a guest function the host
    /// called returns: li a7, -1; ecall (<see cref="LinuxProcess.Call"/>).
    /// </summary>
    public static readonly uint[] Trampoline = [0x08b0_0893, 0x0000_0073, 0, 0, 0xfff0_0893, 0x0000_0073];

    /// <summary>Where in the trampoline page a function called by the host returns to.</summary>
    public const ulong CallReturnOffset = 16;
}
