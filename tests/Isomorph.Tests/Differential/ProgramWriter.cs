using System.Globalization;
using System.Text;

namespace Isomorph.Tests.Differential;

/// <summary>
/// Turns a <see cref="DiffProgram"/> into a bare-metal M-mode assembly program.
/// <para>Per stream: copy the data template into the 4 KiB data area, load x/f/fcsr from an init table,
/// run the items, then store x1..x31, f0..f31, fcsr into <c>regdump</c> and print them over the HTIF
/// console, followed by the data-area dwords that differ from the template:</para>
/// <code>
/// S3 x1=0123456789abcdef x2=... x31=...
/// S3 f0=... f31=...
/// S3 fcsr=00000000000000e1 m7f8=... (data-area offset, hex)
/// </code>
/// <para>In trace mode every item is followed by a checkpoint (labelled <c>S3.17</c> after item 17)
/// printed the same way; the checkpoint restores all registers and returns with mret, so its code at
/// the call site is 12 bytes and short branches still reach.</para>
/// The third line also holds the stream's trap log: <c>tn=</c> count, then per trap <c>t0c=</c> mcause,
/// <c>t0e=</c> mepc minus the stream start, <c>t0v=</c> mtval, <c>t0s=</c> mstatus MIE/MPIE/MPP. A trap at one
/// of the stream's expected trap sites (<see cref="StreamItem.TrapAt"/>) is logged and skipped.
/// Exit: tohost = 1 (code 0). Any other trap prints <c>TRAP mcause=... mepc=... mtval=...</c> and
/// exits with code 77.
/// </summary>
public static class ProgramWriter
{
    public const int TrapExitCode = 77; // distinct from the CLI's own error codes

    /// <summary>Expected traps logged per stream (later ones are only counted in <c>tn</c>).</summary>
    public const int MaxLoggedTraps = 16;

    /// <summary>mstatus bits the trap handler records: MIE, MPIE, MPP.</summary>
    public const ulong LoggedMstatusBits = 0x1888;

    public static string LinkerScript => """
        OUTPUT_ARCH("riscv")
        ENTRY(_start)
        SECTIONS
        {
          . = 0x80000000;
          .text : { *(.text.init) *(.text .text.*) }
          . = ALIGN(8);
          .rodata : { *(.rodata .rodata.*) }
          . = ALIGN(64);
          .tohost : { *(.tohost) }
          . = ALIGN(4096);
          .data : { *(.data .data.*) *(.sdata .sdata.*) }
          .bss : { *(.bss .bss.*) *(.sbss .sbss.*) *(COMMON) }
          _end = .;
        }
        """;

    public static string Write(DiffProgram program, bool trace = false, bool virtualSupervisor = false) =>
        Write(program.DataTemplate, program.Streams, trace, virtualSupervisor);

    /// <summary>
    /// The program's assembly. With <paramref name="virtualSupervisor"/> every stream runs in VS-mode
    /// (the hypervisor extension; hgatp and vsatp Bare, so addresses are the same, vsstatus.FS dirty):
    /// an mret with MPV enters it after the stream's state is set up, and an ecall at the stream's
    /// end, which the trap handler recognises (trapctl+576), returns to M-mode for the dump; traps
    /// at expected sites go to M-mode and back as in M-mode runs.
    /// </summary>
    public static string Write(ulong[] template, IReadOnlyList<RandomStream> streams, bool trace, bool virtualSupervisor = false)
    {
        if (trace && virtualSupervisor) throw new ArgumentException("trace checkpoints run in M-mode: no trace of VS-mode streams");
        var sb = new StringBuilder(1 << 16);
        var rodata = new StringBuilder(1 << 16);
        void L(string s) => sb.Append("  ").Append(s).Append('\n');

        sb.Append("# Isomorph differential test program (generated)\n");
        sb.Append("  .section .text.init, \"ax\"\n  .globl _start\n_start:\n");
        L("la t0, trap_handler");
        L("csrw mtvec, t0");
        L("li t0, 0x7800"); // FS = dirty, MPP = M
        L("csrs mstatus, t0");
        L("csrwi fcsr, 0");
        L("la t0, trapctl");
        L("sd zero, 0(t0)"); // no expected trap sites outside the streams
        L("sd zero, 576(t0)"); // no VS-mode stream's end yet
        if (virtualSupervisor)
        {
            // One PMP entry over all memory (TOR, RWX): below M-mode an access no entry matches fails.
            L("li t0, 1");
            L("slli t0, t0, 54");
            L("addi t0, t0, -1");
            L("csrw pmpaddr0, t0");
            L("li t0, 0x0f");
            L("csrw pmpcfg0, t0");
            L("csrw hgatp, zero");
            L("csrw vsatp, zero");
            L("li t0, 0x6000");
            L("csrs vsstatus, t0"); // FS = dirty in VS-mode too
        }

        foreach (var s in streams)
            WriteStream(sb, rodata, s, trace, virtualSupervisor);

        L("li a0, 0");
        L("j htif_exit");
        sb.Append(Runtime);

        // read-only data: template, init tables, label strings
        sb.Append("  .section .rodata\n  .align 3\ndtemplate:\n");
        for (int i = 0; i < template.Length; i++)
            sb.Append("  .dword ").Append(RandomStreamGenerator.Hex(template[i])).Append('\n');
        sb.Append(rodata);
        sb.Append(NameStrings);

        sb.Append("""
              .section .tohost, "aw", @progbits
              .align 6
              .globl tohost
            tohost: .dword 0
              .size tohost, 8
              .align 6
              .globl fromhost
            fromhost: .dword 0
              .size fromhost, 8
              .bss
              .align 12
              .globl darea
            darea: .zero 4096
              .align 6
              .globl regdump
            regdump: .zero 528
              .align 6
            # trap control: +0 expected-site table of the current stream (0-terminated), +8 its start,
            # +16 number of expected traps, +24..+56 handler save area (t0..t4), +64 log (32 bytes each:
            # mcause, mepc - stream start, mtval, mstatus & 0x1888), +576 the VS-mode stream's ecall back to M-mode
              .globl trapctl
            trapctl: .zero 584

            """);
        return sb.ToString();
    }

    private static void WriteStream(StringBuilder sb, StringBuilder rodata, RandomStream s, bool trace, bool virtualSupervisor)
    {
        int k = s.Index;
        void L(string line) => sb.Append("  ").Append(line).Append('\n');
        sb.Append($"\n# ---- stream {k} (program seed {s.ProgramSeed})\nstream{k}_init:\n");
        L("la a0, dtemplate");
        L("la a1, darea");
        L($"li a2, {DiffProgram.DataAreaSize / 8}");
        sb.Append("1:\n");
        L("ld a3, 0(a0)"); L("sd a3, 0(a1)"); L("addi a0, a0, 8"); L("addi a1, a1, 8"); L("addi a2, a2, -1"); L("bnez a2, 1b");
        foreach (var (off, val) in s.MemoryPatches)
        {
            L($"li a3, {RandomStreamGenerator.Hex(val)}");
            L($"la a1, darea+{off}");
            L("sd a3, 0(a1)");
        }
        // privileged state a stream may observe: MIE/MPIE clear, MPP = M, FS = dirty; empty trap log
        L("li t0, 0x1888");
        L("csrc mstatus, t0");
        L("li t0, 0x7800");
        L("csrs mstatus, t0");
        L("la t1, trapctl");
        L($"la t0, tsites{k}");
        L("sd t0, 0(t1)");
        L($"la t0, stream{k}_begin");
        L("sd t0, 8(t1)");
        L("sd zero, 16(t1)");
        if (virtualSupervisor)
        {
            L($"la t0, stream{k}_vsexit");
            L("sd t0, 576(t1)");
            L($"la t0, stream{k}_vs"); // mret into VS-mode: MPP = S, MPV = 1
            L("csrw mepc, t0");
            L("li t0, 0x1000");
            L("csrc mstatus, t0");
            L("li t0, 1");
            L("slli t0, t0, 39");
            L("csrs mstatus, t0");
            L("mret");
            sb.Append($"stream{k}_vs:\n");
        }
        L($"la x31, init{k}");
        L("ld x5, 512(x31)");
        L("csrw fcsr, x5");
        for (int i = 0; i < 32; i++) L($"fld f{i}, {(32 + i) * 8}(x31)");
        for (int i = 1; i < 31; i++)
            if (i != 2 && i != 8) L($"ld x{i}, {i * 8}(x31)");
        L("ld x31, 248(x31)");
        L($"la x2, darea+{DiffProgram.SpOffset}");
        L($"la x8, darea+{DiffProgram.S0Offset}");
        L(".option push");
        L(s.AutoCompress ? ".option rvc" : ".option norvc");
        sb.Append($"stream{k}_begin:\n");

        var pending = new List<(string Label, int Target)>();
        var sites = new List<string>();
        foreach (var item in s.Items)
        {
            EmitLabels(sb, pending, item.Ordinal);
            if (item.Compressed && !s.AutoCompress) { L(".option push"); L(".option rvc"); }
            string? label = item.TargetOrdinal is int t ? $".LB{k}_{item.Ordinal}" : null;
            if (label != null) pending.Add((label, item.TargetOrdinal!.Value));
            for (int li = 0; li < item.Lines.Count; li++)
            {
                if (item.TrapAt == li)
                {
                    string site = $".LT{k}_{item.Ordinal}";
                    sites.Add(site);
                    sb.Append(site).Append(":\n");
                }
                var line = item.Lines[li];
                L(label != null ? line.Replace(StreamItem.LabelToken, label) : line);
            }
            if (item.Compressed && !s.AutoCompress) L(".option pop");
            if (trace)
            {
                string lbl = $"lbl{k}_{item.Ordinal}";
                rodata.Append($"{lbl}: .asciz \"S{k}.{item.Ordinal}\"\n");
                L("csrw mscratch, x1");
                L("jal x1, checkpoint");
                L($".word {lbl}");
            }
        }
        EmitLabels(sb, pending, int.MaxValue);
        sb.Append($"stream{k}_end:\n");
        if (virtualSupervisor)
        {
            sb.Append($"stream{k}_vsexit:\n");
            L("ecall"); // back to M-mode, every register as the stream left it
        }
        L(".option pop");

        // final dump
        L("csrw mscratch, x1");
        L("la x1, regdump");
        for (int i = 2; i < 32; i++) L($"sd x{i}, {i * 8}(x1)");
        L("csrr x2, mscratch");
        L("sd x2, 8(x1)");
        for (int i = 0; i < 32; i++) L($"fsd f{i}, {(32 + i) * 8}(x1)");
        L("frcsr x2");
        L("sd x2, 512(x1)");
        L($"la a0, lbl{k}");
        L("call dump_print");

        rodata.Append($"lbl{k}: .asciz \"S{k}\"\n");
        rodata.Append($"  .align 3\ntsites{k}:\n");
        foreach (var site in sites) rodata.Append($"  .dword {site}\n");
        rodata.Append("  .dword 0\n");
        rodata.Append($"  .align 3\ninit{k}:\n");
        for (int i = 0; i < 32; i++) rodata.Append("  .dword ").Append(RandomStreamGenerator.Hex(i == 0 ? 0 : s.X[i])).Append('\n');
        for (int i = 0; i < 32; i++) rodata.Append("  .dword ").Append(RandomStreamGenerator.Hex(s.F[i])).Append('\n');
        rodata.Append("  .dword ").Append(RandomStreamGenerator.Hex(s.Fcsr)).Append('\n');
    }

    private static void EmitLabels(StringBuilder sb, List<(string Label, int Target)> pending, int ordinal)
    {
        for (int i = 0; i < pending.Count; i++)
        {
            if (pending[i].Target <= ordinal)
            {
                sb.Append(pending[i].Label).Append(":\n");
                pending.RemoveAt(i--);
            }
        }
    }

    private static string NameStrings
    {
        get
        {
            var sb = new StringBuilder();
            for (int i = 1; i < 32; i++) sb.Append($"nm_x{i}: .asciz \" x{i}=\"\n");
            for (int i = 0; i < 32; i++) sb.Append($"nm_f{i}: .asciz \" f{i}=\"\n");
            sb.Append("nm_fcsr: .asciz \" fcsr=\"\nnm_m: .asciz \" m\"\nnm_eq: .asciz \"=\"\n");
            sb.Append("nm_tn: .asciz \" tn=\"\nnm_t: .asciz \" t\"\nnm_tc: .asciz \"c=\"\nnm_te: .asciz \"e=\"\nnm_tv: .asciz \"v=\"\nnm_ts: .asciz \"s=\"\n");
            sb.Append("nm_trap: .asciz \"TRAP mcause=\"\nnm_mepc: .asciz \" mepc=\"\nnm_mtval: .asciz \" mtval=\"\n");
            return sb.ToString();
        }
    }

    private static readonly string Runtime = BuildRuntime();

    private static string BuildRuntime()
    {
        var sb = new StringBuilder();
        sb.Append("""

            # ================= runtime (does not touch the stream's state except via regdump)
              .option push
              .option rvc
              .balign 4
            # putc(a0): HTIF console write; clobbers t0-t2
            htif_putc:
              la t1, tohost
            1:
              ld t2, 0(t1)
              bnez t2, 1b
              li t0, 0x0101
              slli t0, t0, 48
              or t0, t0, a0
              sd t0, 0(t1)
            2:
              ld t2, 0(t1)
              bnez t2, 2b
              la t1, fromhost
              sd zero, 0(t1)
              ret

            # puts(a0): clobbers a0, a1, a7, t0-t2
            htif_puts:
              mv a7, ra
              mv a1, a0
            1:
              lbu a0, 0(a1)
              beqz a0, 2f
              call htif_putc
              addi a1, a1, 1
              j 1b
            2:
              mv ra, a7
              ret

            # puthex(a0 = value, a1 = digits): clobbers a0-a3, a6, t0-t2
            htif_puthex:
              mv a6, ra
              mv a2, a0
              slli a3, a1, 2
            1:
              addi a3, a3, -4
              srl a0, a2, a3
              andi a0, a0, 15
              addi a0, a0, 48
              li t0, 58
              blt a0, t0, 2f
              addi a0, a0, 39
            2:
              call htif_putc
              bnez a3, 1b
              mv ra, a6
              ret

            # exit(a0)
            htif_exit:
              slli a0, a0, 1
              ori a0, a0, 1
              la t1, tohost
              sd a0, 0(t1)
            1:
              j 1b

            # Trap handler. A trap at one of the current stream's expected sites (trapctl+0) is logged
            # (mcause, mepc - stream start, mtval, mstatus MIE/MPIE/MPP) and skipped (2 or 4 bytes, from
            # the instruction's low bits); returns with mret. Anything else is fatal (trap_fatal).
              .align 2
            trap_handler:
              csrw mscratch, t0
              la t0, trapctl
              sd t1, 32(t0)
              sd t2, 40(t0)
              sd t3, 48(t0)
              sd t4, 56(t0)
              csrr t1, mscratch
              sd t1, 24(t0)
              csrr t1, mepc
              ld t2, 576(t0)
              beq t1, t2, vs_exit
              ld t2, 0(t0)
              beqz t2, trap_fatal
            1:
              ld t3, 0(t2)
              beqz t3, trap_fatal
              beq t3, t1, 2f
              addi t2, t2, 8
              j 1b
            2:
              ld t2, 16(t0)
              addi t3, t2, 1
              sd t3, 16(t0)
              li t3, @MAXLOG@
              bgeu t2, t3, 3f
              slli t2, t2, 5
              add t2, t2, t0
              csrr t3, mcause
              sd t3, 64(t2)
              ld t4, 8(t0)
              sub t4, t1, t4
              sd t4, 72(t2)
              csrr t4, mtval
            @MTVALPOLICY@
              sd t4, 80(t2)
              csrr t3, mstatus
              li t4, @MSTATUSBITS@
              and t3, t3, t4
              sd t3, 88(t2)
            3:
              lhu t3, 0(t1)
              andi t3, t3, 3
              addi t1, t1, 2
              li t4, 3
              bne t3, t4, 4f
              addi t1, t1, 2
            4:
            handler_return:
              csrw mepc, t1
              ld t1, 32(t0)
              ld t2, 40(t0)
              ld t3, 48(t0)
              ld t4, 56(t0)
              ld t0, 24(t0)
              mret

            # The ecall at a VS-mode stream's end: back to M-mode after it (MPP = M, MPV = 0), registers as they were.
            vs_exit:
              li t2, 0x1800
              csrs mstatus, t2
              li t2, 1
              slli t2, t2, 39
              csrc mstatus, t2
              addi t1, t1, 4
              j handler_return

            trap_fatal:
              la a0, nm_trap
              call htif_puts
              csrr a0, mcause
              li a1, 16
              call htif_puthex
              la a0, nm_mepc
              call htif_puts
              csrr a0, mepc
              li a1, 16
              call htif_puthex
              la a0, nm_mtval
              call htif_puts
              csrr a0, mtval
              li a1, 16
              call htif_puthex
              li a0, 10
              call htif_putc
            """);
        sb.Append($"\n  li a0, {TrapExitCode}\n  j htif_exit\n");
        sb.Replace("@MAXLOG@", MaxLoggedTraps.ToString(CultureInfo.InvariantCulture))
          .Replace("@MSTATUSBITS@", "0x" + LoggedMstatusBits.ToString("x", CultureInfo.InvariantCulture))
          .Replace("@MTVALPOLICY@", MtvalPolicy);

        // checkpoint: entered by "csrw mscratch, x1; jal x1, checkpoint; .word label"
        sb.Append("\ncheckpoint:\n  csrw mepc, x1\n  la x1, regdump\n");
        for (int i = 2; i < 32; i++) sb.Append($"  sd x{i}, {i * 8}(x1)\n");
        sb.Append("  csrr x2, mscratch\n  sd x2, 8(x1)\n");
        for (int i = 0; i < 32; i++) sb.Append($"  fsd f{i}, {(32 + i) * 8}(x1)\n");
        sb.Append("  frcsr x2\n  sd x2, 512(x1)\n");
        sb.Append("  csrr t1, mepc\n  lhu a0, 0(t1)\n  lhu t0, 2(t1)\n  slli t0, t0, 16\n  or a0, a0, t0\n  call dump_print\n");
        sb.Append("  csrr t0, mepc\n  addi t0, t0, 4\n  csrw mepc, t0\n  li t0, 0x1800\n  csrs mstatus, t0\n");
        sb.Append("  la x31, regdump\n");
        for (int i = 1; i < 31; i++) sb.Append($"  ld x{i}, {i * 8}(x31)\n");
        sb.Append("  ld x31, 248(x31)\n  mret\n");

        // dump_print(a0 = label string): prints regdump and the data-area diff. Clobbers everything.
        sb.Append("\ndump_print:\n  mv s1, ra\n  mv s2, a0\n  la s3, regdump\n");
        sb.Append("  mv a0, s2\n  call htif_puts\n");
        for (int i = 1; i < 32; i++)
            sb.Append($"  la a0, nm_x{i}\n  call htif_puts\n  ld a0, {i * 8}(s3)\n  li a1, 16\n  call htif_puthex\n");
        sb.Append("  li a0, 10\n  call htif_putc\n  mv a0, s2\n  call htif_puts\n");
        for (int i = 0; i < 32; i++)
            sb.Append($"  la a0, nm_f{i}\n  call htif_puts\n  ld a0, {(32 + i) * 8}(s3)\n  li a1, 16\n  call htif_puthex\n");
        sb.Append("  li a0, 10\n  call htif_putc\n  mv a0, s2\n  call htif_puts\n");
        sb.Append("  la a0, nm_fcsr\n  call htif_puts\n  ld a0, 512(s3)\n  li a1, 16\n  call htif_puthex\n");
        // trap log: tn=<count> t<i>c=<mcause> t<i>e=<mepc - stream start> t<i>v=<mtval> t<i>s=<mstatus bits>
        sb.Append("  la s8, trapctl\n  la a0, nm_tn\n  call htif_puts\n  ld a0, 16(s8)\n  li a1, 2\n  call htif_puthex\n");
        sb.Append($"  ld s9, 16(s8)\n  li t0, {MaxLoggedTraps}\n  bleu s9, t0, 5f\n  mv s9, t0\n5:\n  li s10, 0\n6:\n  bgeu s10, s9, 7f\n  slli s11, s10, 5\n  add s11, s11, s8\n");
        foreach (var (nm, off, digits) in new[] { ("nm_tc", 64, 16), ("nm_te", 72, 6), ("nm_tv", 80, 16), ("nm_ts", 88, 4) })
            sb.Append($"  la a0, nm_t\n  call htif_puts\n  mv a0, s10\n  li a1, 1\n  call htif_puthex\n  la a0, {nm}\n  call htif_puts\n  ld a0, {off}(s11)\n  li a1, {digits}\n  call htif_puthex\n");
        sb.Append("  addi s10, s10, 1\n  j 6b\n7:\n");
        sb.Append($"""
              la s4, darea
              la s5, dtemplate
              li s6, 0
            1:
              add t0, s4, s6
              ld s7, 0(t0)
              add t0, s5, s6
              ld t1, 0(t0)
              beq s7, t1, 2f
              la a0, nm_m
              call htif_puts
              mv a0, s6
              li a1, 3
              call htif_puthex
              la a0, nm_eq
              call htif_puts
              mv a0, s7
              li a1, 16
              call htif_puthex
            2:
              addi s6, s6, 8
              li t0, {DiffProgram.DataAreaSize}
              blt s6, t0, 1b
              li a0, 10
              call htif_putc
              mv ra, s1
              ret
              .option pop

            """);
        return sb.ToString();
    }

    /// <summary>Logged instead of an mtval that legitimately differs between implementations.</summary>
    public const ulong MtvalNotCompared = 0xdddddddddddddddd;

    /// <summary>Assembly run by the trap handler with t4 = mtval, t3 = mcause, t1 = mepc, t2 = log entry
    /// (only t3 and t4 may change): replaces mtvals the spec leaves to the implementation by
    /// <see cref="MtvalNotCompared"/>. Breakpoint (EBREAK/C.EBREAK): zero or the pc (QEMU 7.2: 0,
    /// Spike and Isomorph: the pc).</summary>
    private static string MtvalPolicy => $"""
          addi t3, t3, -3
          bnez t3, 8f
          li t4, 0x{MtvalNotCompared:x}
        8:
        """;

    internal static string ToHex16(ulong v) => v.ToString("x16", CultureInfo.InvariantCulture);
}
