using System.Runtime.InteropServices;
using Isomorph.Devices.Bus;
using Isomorph.Riscv.Isa;

namespace Isomorph.Riscv;

/// <summary>The privilege levels of the privileged architecture.</summary>
public enum PrivilegeLevel : byte { User = 0, Supervisor = 1, Machine = 3 }

/// <summary>
/// One RISC-V hardware thread (RV64GC): its architectural state and the interpreter that runs it.
/// The class is split by concern: registers here, the run loop in Hart.Execute, memory access in
/// Hart.Memory, address translation in Hart.Mmu, traps in Hart.Trap and CSRs in Hart.Csr.
/// </summary>
public sealed unsafe partial class Hart : IDisposable
{
    /// <summary>The register that writes to x0 are redirected to, so that x0 always reads zero.</summary>
    public const byte ZeroSink = 32;

    /// <summary>Returned by semantics that have set <see cref="Pc"/> themselves (jumps off the page, traps).</summary>
    public const int Exit = -1;

    /// <summary>Integer registers x0–x31 (and the x0 sink at index 32).</summary>
    public readonly ulong* X;

    /// <summary>FP registers f0–f31 as raw bits; single-precision values are NaN-boxed.</summary>
    public readonly ulong* F;

    /// <summary>The program counter. Inside the run loop it is current only at exits; use <see cref="PcOf"/>.</summary>
    public ulong Pc;

    /// <summary>The nominal privilege level: U, S (HS, or VS when <see cref="Virtualized"/>) or M.</summary>
    public PrivilegeLevel Privilege { get; private set; } = PrivilegeLevel.Machine;

    /// <summary>The virtualization mode V of the hypervisor extension: set in VS- and VU-mode.</summary>
    public bool Virtualized { get; private set; }

    /// <summary>The mode: the privilege level, and whether V is set (VS, VU).</summary>
    public PrivilegeMode Mode => (PrivilegeMode)((int)Privilege | (Virtualized ? 4 : 0));

    /// <summary>Whether the hart has the hypervisor extension (H, version 1.0): misa.H, the VS and VU modes.</summary>
    public bool HasHypervisor { get; }

    public ulong HartId { get; }

    public PhysicalBus Bus { get; }

    public CodeCache Code { get; }

    private readonly void* _registerBlock;

    public Hart(PhysicalBus bus, ulong hartId = 0, CodeCache? code = null, bool hypervisor = false)
    {
        Bus = bus;
        HartId = hartId;
        HasHypervisor = hypervisor;
        Code = code ?? new CodeCache(bus);
        Code.Attach(this);
        _registerBlock = NativeMemory.AllocZeroed(64 * sizeof(ulong) + 8);
        X = (ulong*)_registerBlock;
        F = X + 33;
        _readTlb = (TlbEntry*)NativeMemory.AllocZeroed(TlbSize * (nuint)sizeof(TlbEntry));
        _writeTlb = (TlbEntry*)NativeMemory.AllocZeroed(TlbSize * (nuint)sizeof(TlbEntry));
        FlushTlb();
        ResetCsrs();
    }

    public ulong GetX(int n) => n == 0 ? 0 : X[n];

    public void SetX(int n, ulong value)
    {
        if (n != 0) X[n] = value;
    }

    private bool _disposed;

    /// <summary>Frees the registers and TLBs; a second call does nothing.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Translation.TranslatingEngine.FlushTally(this);
        NativeMemory.Free(_registerBlock);
        NativeMemory.Free(_readTlb);
        NativeMemory.Free(_writeTlb);
    }
}
