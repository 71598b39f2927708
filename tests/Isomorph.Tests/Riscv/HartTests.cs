using Isomorph.Devices.Bus;
using Isomorph.Riscv;
using Isomorph.Riscv.Isa;

namespace Isomorph.Tests.Riscv;

/// <summary>Hart behaviour at the edges the guest programs do not reach easily.</summary>
public sealed unsafe class HartTests : IDisposable
{
    private const ulong RamBase = 0x8000_0000;
    private readonly PhysicalBus _bus = new();
    private readonly Ram _ram;
    private readonly Hart _hart;

    public HartTests()
    {
        _ram = _bus.AddRam(RamBase, 1 << 20);
        _hart = new Hart(_bus);
    }

    public void Dispose()
    {
        _hart.Dispose();
        _ram.Dispose();
    }

    // A few encoders, enough to write small programs.
    private static uint I(uint opcode, uint funct3, int rd, int rs1, int imm) =>
        ((uint)imm & 0xFFF) << 20 | (uint)rs1 << 15 | funct3 << 12 | (uint)rd << 7 | opcode;
    private static uint Addi(int rd, int rs1, int imm) => I(0x13, 0, rd, rs1, imm);
    private static uint Ld(int rd, int rs1, int imm) => I(0x03, 3, rd, rs1, imm);
    private static uint Sw(int rs2, int rs1, int imm) =>
        ((uint)imm >> 5 & 0x7F) << 25 | (uint)rs2 << 20 | (uint)rs1 << 15 | 2u << 12 | ((uint)imm & 31) << 7 | 0x23;
    private static uint AmoaddD(int rd, int rs2, int rs1) => 0u << 27 | (uint)rs2 << 20 | (uint)rs1 << 15 | 3u << 12 | (uint)rd << 7 | 0x2F;
    private const uint Csrrw = 0x73 | 1 << 12;
    private static uint CsrWrite(int csr, int rs1) => (uint)csr << 20 | (uint)rs1 << 15 | Csrrw;

    private void Write32(ulong address, uint value) => *(uint*)_ram.HostAddress(address) = value;
    private void Write16(ulong address, ushort value) => *(ushort*)_ram.HostAddress(address) = value;

    private ulong Csr(int number)
    {
        Assert.True(_hart.TryReadCsr(number, out ulong v));
        return v;
    }

    private const uint Pause = 0x0100000F;   // fence w,0
    private static uint JumpBack(int bytes) => Jal(0, -bytes);
    private static uint Jal(int rd, int offset) =>
        ((uint)offset >> 20 & 1) << 31 | ((uint)offset >> 1 & 0x3FF) << 21 | ((uint)offset >> 11 & 1) << 20 | ((uint)offset >> 12 & 0xFF) << 12 | (uint)rd << 7 | 0x6F;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pause_YieldsOnlyWhenTheMachineAsks(bool yieldOnPause)
    {
        // loop: addi x1, x1, 1; pause; j loop
        Write32(RamBase, Addi(1, 1, 1));
        Write32(RamBase + 4, Pause);
        Write32(RamBase + 8, JumpBack(8));
        _hart.Pc = RamBase;
        _hart.YieldOnPause = yieldOnPause;
        var stop = _hart.Run(3000);
        if (yieldOnPause)
        {
            Assert.Equal(HartStop.Yielded, stop);
            Assert.Equal(2, _hart.Instret);          // the addi and the pause retired
            Assert.Equal(RamBase + 8, _hart.Pc);     // continues after the pause
            Assert.Equal(HartStop.Yielded, _hart.Run(3000));
            Assert.Equal(2ul, _hart.GetX(1));
        }
        else
        {
            Assert.Equal(HartStop.Budget, stop);
            Assert.Equal(3000, _hart.Instret);
            Assert.Equal(1000ul, _hart.GetX(1));
        }
    }

    [Fact]
    public void WritesToX0AreDiscarded()
    {
        Write32(RamBase, Addi(0, 0, 5));
        Write32(RamBase + 4, Addi(1, 0, 7));
        _hart.Pc = RamBase;
        _hart.Run(2);
        Assert.Equal(0ul, _hart.GetX(0));
        Assert.Equal(7ul, _hart.GetX(1));
        Assert.Equal(RamBase + 8, _hart.Pc);
        Assert.Equal(2, _hart.Instret);
    }

    [Fact]
    public void AnInstructionStraddlingTwoPagesRuns()
    {
        ulong at = RamBase + 0xFFE;
        uint addi = Addi(5, 0, 123);
        Write16(at, (ushort)addi);
        Write16(at + 2, (ushort)(addi >> 16));
        Write32(at + 4, Addi(6, 5, 1));
        _hart.Pc = at;
        _hart.Run(2);
        Assert.Equal(123ul, _hart.GetX(5));
        Assert.Equal(124ul, _hart.GetX(6));
    }

    [Fact]
    public void IllegalInstructionTrapsWithTheEncodingInMtval()
    {
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase + 0x100);
        Write32(RamBase, 0xFFFF_FFFF);
        _hart.Pc = RamBase;
        _hart.Run(1);
        Assert.Equal((ulong)ExceptionCause.IllegalInstruction, Csr(CsrNumber.Mcause));
        Assert.Equal(0xFFFF_FFFFul, Csr(CsrNumber.Mtval));
        Assert.Equal(RamBase, Csr(CsrNumber.Mepc));
        Assert.Equal(RamBase + 0x100, _hart.Pc);
        Assert.Equal(0, _hart.Instret);               // a trapping instruction does not retire
        Assert.Equal(1, _hart.ExceptionsTaken);
    }

    [Fact]
    public void ATrapLoopStillEndsTheRunBudget()
    {
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase);   // the handler is the illegal instruction itself
        Write32(RamBase, 0);
        _hart.Pc = RamBase;
        Assert.Equal(HartStop.Budget, _hart.Run(1000));
        Assert.Equal(1000, _hart.ExceptionsTaken);
    }

    [Fact]
    public void LoadFromNowhereIsAnAccessFault()
    {
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase + 0x100);
        Write32(RamBase + 0x100, Addi(0, 0, 0));
        _hart.SetX(1, 0x4000_0000);
        Write32(RamBase, Ld(2, 1, 8));
        _hart.Pc = RamBase;
        _hart.Run(1);
        Assert.Equal((ulong)ExceptionCause.LoadAccessFault, Csr(CsrNumber.Mcause));
        Assert.Equal(0x4000_0008ul, Csr(CsrNumber.Mtval));
        Assert.Equal(RamBase + 0x100, _hart.Pc);
        Assert.Equal(0, _hart.Instret); // a trapping instruction does not retire
    }

    [Fact]
    public void MisalignedAmoIsAStoreAddressMisalignedTrap()
    {
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase + 0x100);
        Write32(RamBase + 0x100, Addi(0, 0, 0));
        _hart.SetX(1, RamBase + 0x1004);
        Write32(RamBase, AmoaddD(2, 3, 1));
        _hart.Pc = RamBase;
        _hart.Run(1);
        Assert.Equal((ulong)ExceptionCause.StoreAddressMisaligned, Csr(CsrNumber.Mcause));
        Assert.Equal(RamBase + 0x1004, Csr(CsrNumber.Mtval));
    }

    [Fact]
    public void AStoreIntoTheRunningPageIsSeenByTheNextFetch()
    {
        // x1 = address of the instruction at +12; write "addi x3, x0, 99" there, then run it.
        Write32(RamBase, Addi(1, 0, 0));              // x1 = 0 (patched below with auipc-free absolute address)
        _hart.SetX(1, RamBase + 12);
        _hart.SetX(2, Addi(3, 0, 99));
        Write32(RamBase, Sw(2, 1, 0));                 // sw x2, 0(x1)
        Write32(RamBase + 4, Addi(0, 0, 0));
        Write32(RamBase + 8, Addi(0, 0, 0));
        Write32(RamBase + 12, Addi(3, 0, 1));          // decoded first as "addi x3, x0, 1" ...
        _hart.Pc = RamBase + 12;
        _hart.Run(1);
        Assert.Equal(1ul, _hart.GetX(3));
        _hart.Pc = RamBase;
        _hart.Run(4);                                  // ... then overwritten and run again
        Assert.Equal(99ul, _hart.GetX(3));
    }

    private const ulong PteV = 1, PteR = 2, PteW = 4, PteX = 8, PteA = 64, PteD = 128, Leaf = PteV | PteR | PteW | PteA | PteD;
    private const ulong RootTable = RamBase + 0x10000, Level1Table = RamBase + 0x11000, Level0Table = RamBase + 0x12000;
    private void WritePte(ulong table, int index, ulong pa, ulong flags) =>
        *(ulong*)_ram.HostAddress(table + (ulong)index * 8) = (pa >> 12) << 10 | flags;
    private static uint SfenceVma(int rs1, int rs2) => 0x09u << 25 | (uint)rs2 << 20 | (uint)rs1 << 15 | 0x73;

    [Fact]
    public void SfenceVmaWithAnAddressForgetsThatPageAndTheSuperpageHoldingIt()
    {
        // Sv39 in S-mode: the code identity-mapped by a gigapage, VA 0x4000_0000 a megapage onto RAM,
        // VA 0x4020_0000 and 0x4020_1000 two 4 KiB pages.
        WritePte(RootTable, 2, RamBase, Leaf | PteX);
        WritePte(RootTable, 1, Level1Table, PteV);
        WritePte(Level1Table, 0, RamBase, Leaf);
        WritePte(Level1Table, 1, Level0Table, PteV);
        WritePte(Level0Table, 0, RamBase + 0x4000, Leaf);
        WritePte(Level0Table, 1, RamBase + 0x5000, Leaf);
        Assert.True(_hart.TryWriteCsr(CsrNumber.Satp, 8ul << 60 | RootTable >> 12));
        _hart.SetPrivilege(PrivilegeLevel.Supervisor);
        *(ulong*)_ram.HostAddress(RamBase + 0x3000) = 0x1111;
        *(ulong*)_ram.HostAddress(RamBase + 0x5000) = 0x3333;
        Assert.True(_hart.Load(0x4000_3000ul, out ulong value));
        Assert.Equal(0x1111ul, value);
        Assert.True(_hart.Load(0x4020_0000ul, out value));
        Assert.True(_hart.Load(0x4020_1000ul, out value));
        Assert.Equal(0x3333ul, value);

        // Unmapped, the pages stay in the TLBs until an sfence.vma ...
        WritePte(Level1Table, 0, 0, 0);
        WritePte(Level0Table, 0, 0, 0);
        WritePte(Level0Table, 1, 0, 0);
        Assert.True(_hart.Load(0x4000_3000ul, out ulong _));
        // ... for another page of the megapage, then for the first 4 KiB page.
        _hart.SetX(5, 0x4000_5000);
        _hart.SetX(6, 0x4020_0000);
        Write32(RamBase, SfenceVma(5, 0));
        Write32(RamBase + 4, SfenceVma(6, 0));
        _hart.Pc = RamBase;
        Assert.Equal(HartStop.Budget, _hart.Run(2));
        Assert.Equal(2, _hart.Instret);
        Assert.False(_hart.Load(0x4000_3000ul, out ulong _));  // the whole megapage is forgotten
        Assert.Equal((ulong)ExceptionCause.LoadPageFault, _hart.PendingCause);
        Assert.False(_hart.Load(0x4020_0000ul, out ulong _));
        Assert.True(_hart.Load(0x4020_1000ul, out value)); // the other 4 KiB page was not named: still cached
        Assert.Equal(0x3333ul, value);
    }

    [Fact]
    public void APageOfCodeThatBecomesDataIsCodeAgainWhenRun()
    {
        ulong page = RamBase + 0x1000;
        Write32(page, Addi(3, 0, 1));
        _hart.Pc = page;
        _hart.Run(1);
        Assert.Equal(1ul, _hart.GetX(3));
        // Many stores retire the page: it is data now, and stores to it may take the write TLB ...
        for (int n = 0; n < CodeCache.RetireAfterStores + 8; n++) Assert.True(_hart.Store(page + 0x800 + (ulong)n % 64 * 4, (uint)n));
        Assert.False(_hart.Code.IsCode(page));
        Assert.True(_hart.Store(page, Addi(3, 0, 99)));
        _hart.Pc = page;
        _hart.Run(1);
        Assert.Equal(99ul, _hart.GetX(3));                 // ... yet nothing decoded before is run again,
        Assert.True(_hart.Code.IsCode(page));
        Assert.True(_hart.Store(page, Addi(3, 0, 7)));     // and running it made stores invalidate again.
        _hart.Pc = page;
        _hart.Run(1);
        Assert.Equal(7ul, _hart.GetX(3));
    }

    [Fact]
    public void MachineInterruptsComeBeforeSupervisorOnesAndMeiFirst()
    {
        Write32(RamBase, Addi(0, 0, 0));
        Write32(RamBase + 0x200, Addi(0, 0, 0));
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase + 0x200);
        _hart.TryWriteCsr(CsrNumber.Mie, (1 << 7) | (1 << 11) | (1 << 9));
        _hart.TryWriteCsr(CsrNumber.Mstatus, MstatusBits.Mie);
        _hart.SetInterruptPending(InterruptCause.MachineTimer, true);
        _hart.SetInterruptPending(InterruptCause.MachineExternal, true);
        _hart.Pc = RamBase;
        _hart.Run(1);
        Assert.Equal(Hart.InterruptBit | 11, Csr(CsrNumber.Mcause));
        Assert.Equal(RamBase, Csr(CsrNumber.Mepc));
    }

    [Fact]
    public void CsrWritesFollowTheirWarlRules()
    {
        Assert.False(_hart.TryWriteCsr(CsrNumber.Fcsr, 0));               // FS = Off: FP CSRs are illegal
        _hart.TryWriteCsr(CsrNumber.Mstatus, 1ul << MstatusBits.FsShift);
        Assert.True(_hart.TryWriteCsr(CsrNumber.Misa, 0));
        Assert.Equal(Hart.BaseMisa, Csr(CsrNumber.Misa));                  // fixed
        _hart.TryWriteCsr(CsrNumber.Mtvec, RamBase | 3);
        Assert.Equal(RamBase, Csr(CsrNumber.Mtvec));                      // reserved mode 3 falls back to direct
        _hart.TryWriteCsr(CsrNumber.Medeleg, ulong.MaxValue);
        Assert.Equal(0ul, Csr(CsrNumber.Medeleg) & (1 << 11));            // ecall from M cannot be delegated
        _hart.TryWriteCsr(CsrNumber.Satp, 7ul << 60);
        Assert.Equal(0ul, Csr(CsrNumber.Satp));                           // unsupported mode: unchanged
        Assert.False(_hart.TryWriteCsr(CsrNumber.Mhartid, 1));            // read-only
        Assert.False(_hart.TryReadCsr(0x7FF, out _));                     // no such CSR
        _hart.TryWriteCsr(CsrNumber.Fcsr, 0xFF);
        Assert.Equal(0x1Ful, Csr(CsrNumber.Fflags));
        Assert.Equal(7ul, Csr(CsrNumber.Frm));
        Assert.Equal(MstatusBits.Fs, Csr(CsrNumber.Mstatus) & MstatusBits.Fs); // FS dirty
        Assert.NotEqual(0ul, Csr(CsrNumber.Mstatus) & MstatusBits.Sd);
    }

    [Fact]
    public void TheTraceDisassemblyOfEveryDefinitionIsNonEmpty()
    {
        foreach (var d in InstructionSet.Definitions)
        {
            var insn = default(Insn);
            Decoder.Decode(d.Match, ref insn);
            if (insn.Id == ushort.MaxValue) continue; // a reserved operand choice, e.g. c.jr x0
            Assert.StartsWith(InstructionSet.Definitions[insn.Id].Name, Disassembler.Disassemble(d.Match, RamBase));
        }
    }
}
