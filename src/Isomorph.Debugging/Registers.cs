using System.Text;
using Isomorph.Riscv;
using Isomorph.Riscv.Isa;

namespace Isomorph.Debugging;

/// <summary>
/// gdb's register numbers for RISC-V and the target description that declares them, generated
/// from the project's own definitions: the ABI names of <see cref="RegisterNames"/> and the CSRs of
/// <see cref="Csrs.All"/> that the hart implements. Numbers: x0–x31 are 0–31, pc 32, f0–f31 33–64, a CSR is 65 plus
/// its number (fflags 66, frm 67, fcsr 68) and the privilege level 4161, as gdb numbers them.
/// </summary>
public static class Registers
{
    public const int Pc = 32, FirstF = 33, FirstCsr = 65, Priv = FirstCsr + 4096;

    /// <summary>The registers of a 'g' packet: x0–x31, pc and f0–f31 (others are read one at a time with 'p').</summary>
    public const int GPacketCount = 65;

    private static readonly int[] FpuCsrs = [CsrNumber.Fflags, CsrNumber.Frm, CsrNumber.Fcsr];

    public static bool TryRead(Hart hart, int regnum, out ulong value)
    {
        value = 0;
        switch (regnum)
        {
            case >= 0 and < 32: value = hart.GetX(regnum); return true;
            case Pc: value = hart.Pc; return true;
            case >= FirstF and < FirstF + 32: unsafe { value = hart.F[regnum - FirstF]; } return true;
            case Priv: value = (ulong)hart.Privilege; return true;
            case >= FirstCsr and < Priv: return hart.DebugReadCsr(regnum - FirstCsr, out value);
        }
        return false;
    }

    public static bool TryWrite(Hart hart, int regnum, ulong value)
    {
        switch (regnum)
        {
            case >= 0 and < 32: hart.SetX(regnum, value); return true;
            case Pc: hart.Pc = value; return true;
            case >= FirstF and < FirstF + 32: unsafe { hart.F[regnum - FirstF] = value; } return true;
            case Priv: return hart.DebugSetPrivilege(value);
            case >= FirstCsr and < Priv: return hart.DebugWriteCsr(regnum - FirstCsr, value);
        }
        return false;
    }

    /// <summary>
    /// The target description (target.xml): the cpu and fpu features, and on machines (given one
    /// of its harts) the CSRs that hart implements and the privilege level.
    /// </summary>
    public static string TargetXml(Hart? machineHart)
    {
        var xml = new StringBuilder();
        xml.Append("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target version=\"1.0\">\n");
        xml.Append("<architecture>riscv:rv64</architecture>\n");
        xml.Append("<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
        for (int i = 0; i < 32; i++)
        {
            string name = RegisterNames.X(i);
            string type = name switch { "ra" => "code_ptr", "sp" or "gp" or "tp" or "s0" => "data_ptr", _ => "int" };
            Reg(xml, name, i, type);
        }
        Reg(xml, "pc", Pc, "code_ptr");
        xml.Append("</feature>\n<feature name=\"org.gnu.gdb.riscv.fpu\">\n");
        xml.Append("<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/><field name=\"double\" type=\"ieee_double\"/></union>\n");
        for (int i = 0; i < 32; i++) Reg(xml, RegisterNames.F(i), FirstF + i, "riscv_double");
        foreach (int csr in FpuCsrs) Reg(xml, Csrs.Name(csr), FirstCsr + csr, "int", "float");
        xml.Append("</feature>\n");
        if (machineHart is not null)
        {
            xml.Append("<feature name=\"org.gnu.gdb.riscv.csr\">\n");
            foreach (var csr in Csrs.All)
                if (!FpuCsrs.Contains(csr.Number) && machineHart.Implements(csr)) Reg(xml, csr.Name, FirstCsr + csr.Number, "int", "csr");
            xml.Append("</feature>\n<feature name=\"org.gnu.gdb.riscv.virtual\">\n");
            Reg(xml, "priv", Priv, "int", "general");
            xml.Append("</feature>\n");
        }
        xml.Append("</target>\n");
        return xml.ToString();
    }

    private static void Reg(StringBuilder xml, string name, int regnum, string type, string? group = null) =>
        xml.Append($"<reg name=\"{name}\" bitsize=\"64\" regnum=\"{regnum}\" type=\"{type}\"{(group is null ? "" : $" group=\"{group}\"")}/>\n");

    /// <summary>The registers as <c>monitor registers</c> prints them: pc, privilege, x1–x31 by ABI name, and on machines the trap CSRs.</summary>
    public static string Dump(Hart hart, bool machine)
    {
        var text = new StringBuilder();
        text.Append($"pc       0x{hart.Pc:x16}   priv {hart.Mode}\n"); // VirtualSupervisor, VirtualUser in V mode
        for (int i = 1; i < 32; i++)
        {
            text.Append($"{RegisterNames.X(i),-4} 0x{hart.GetX(i):x16}");
            text.Append(i % 4 == 0 || i == 31 ? "\n" : "  ");
        }
        if (hart.DebugReadCsr(CsrNumber.Fcsr, out ulong fcsr)) text.Append($"fcsr 0x{fcsr:x}\n");
        if (machine)
        {
            int[] shown = [CsrNumber.Mstatus, CsrNumber.Mepc, CsrNumber.Mcause, CsrNumber.Mtval, CsrNumber.Mtvec, CsrNumber.Mie, CsrNumber.Mip,
                CsrNumber.Sstatus, CsrNumber.Sepc, CsrNumber.Scause, CsrNumber.Stval, CsrNumber.Stvec, CsrNumber.Satp,
                // With the hypervisor extension (a hart without it has none of these, and shows none).
                CsrNumber.Hstatus, CsrNumber.Htval, CsrNumber.Hgatp, CsrNumber.Vsstatus, CsrNumber.Vsepc, CsrNumber.Vscause, CsrNumber.Vsatp];
            foreach (int csr in shown)
                if (hart.DebugReadCsr(csr, out ulong v)) text.Append($"{Csrs.Name(csr),-8} 0x{v:x16}\n");
        }
        return text.ToString();
    }
}
