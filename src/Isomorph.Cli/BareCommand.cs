using System.CommandLine;
using System.Text;
using Isomorph.Devices.HostIo;
using Isomorph.Elf;
using Isomorph.Machines;
using Isomorph.Machines.Bare;
using Isomorph.Riscv;
using Spectre.Console;

namespace Isomorph.Cli;

/// <summary><c>isomorph bare FILE.elf</c>: runs a bare-metal RV64GC program that speaks HTIF.</summary>
public static class BareCommand
{
    /// <summary>Exit status when --max-instructions is exceeded or the hart can never wake.</summary>
    public const int LimitExceeded = 3;

    public static Command Create()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "a RISC-V ELF program linked at 0x80000000 with tohost/fromhost symbols" };
        var memory = new Option<string>("--memory") { Description = "RAM size, e.g. 128M, 1G (at most 1T)", DefaultValueFactory = _ => "128M" };
        var maxInstructions = new Option<long?>("--max-instructions") { Description = "stop with an error after N (at least 1) instructions; without it there is no limit" };
        var trace = new Option<bool>("--trace") { Description = "print pc, encoding, disassembly and the register written for each instruction (stderr)" };
        var stats = new Option<bool>("--stats") { Description = "print instructions retired, MIPS and traps by cause (stderr)" };
        var signature = new Option<FileInfo?>("--signature") { Description = "write the words between begin_signature and end_signature to FILE, one per line in hex" };

        var engine = IsomorphCommand.EngineOption();
        var hypervisor = IsomorphCommand.HypervisorOption();
        var (gdb, waitGdb) = IsomorphCommand.GdbOptions();
        var command = new Command("bare", "Run a bare-metal RISC-V program (Spike-style HTIF) in M-mode")
        {
            file, memory, hypervisor, maxInstructions, trace, stats, signature, engine, gdb, waitGdb,
        };
        command.SetAction(parse => Execute(
            parse.GetValue(file)!, parse.GetValue(memory)!, parse.GetValue(hypervisor), parse.GetValue(maxInstructions),
            parse.GetValue(trace), parse.GetValue(stats), parse.GetValue(signature), IsomorphCommand.Engine(parse.GetValue(engine)),
            parse.GetValue(gdb), parse.GetValue(waitGdb)));
        return command;
    }

    private static int Execute(FileInfo file, string memoryText, bool hypervisor, long? maxInstructions, bool trace, bool stats, FileInfo? signature, Riscv.Execution.IExecutionEngine? engine,
        string? gdbSpec, bool waitGdb)
    {
        if (waitGdb && gdbSpec is null) return Fail("--wait-gdb needs --gdb tcp:[HOST]:PORT or unix:PATH");
        if (stats) IsomorphCommand.CountRegionExits(engine);
        if (gdbSpec is not null && trace) return Fail("--gdb and --trace exclude each other");
        Debugging.GdbAttachment? gdb = null;
        if (gdbSpec is not null && (gdb = Debugging.GdbAttachment.Create(gdbSpec, engine, waitGdb, Console.Error, out var gdbError)) is null) return Fail($"--gdb {gdbError}");
        using var gdbScope = gdb;
        if (IsomorphCommand.ParseMemory(memoryText, "128M or 1G", out ulong memory) is { } memoryError) return Fail(memoryError);
        if (maxInstructions is < 1) return Fail($"invalid --max-instructions {maxInstructions}: give 1 or more (without the option there is no limit)");
        if (HostFile.Kind(file.FullName) == HostFileKind.Missing) return Fail($"{file.FullName}: no such file");
        if (HostFile.NotRegular(file.FullName, "program") is { } notRegular) return Fail(notRegular);
        // The signature is renamed into place, which would replace a FIFO or a device (/dev/null) with a regular file.
        if (signature is not null && HostFile.Kind(signature.FullName) is not (HostFileKind.Regular or HostFileKind.Missing) and var kind)
            return Fail($"{signature.FullName} is {HostFile.Describe(kind)}: --signature replaces only a regular file, or writes one where none exists");
        using var stdout = Console.OpenStandardOutput();
        var traceWriter = trace ? new StreamWriter(Console.OpenStandardError(), new UTF8Encoding(false), 1 << 16) { AutoFlush = false } : null;
        BareResult result;
        try
        {
            using var machine = new BareMachine(ElfFile.Load(file.FullName), new BareOptions
            {
                MemorySize = memory,
                Hypervisor = hypervisor,
                MaxInstructions = maxInstructions ?? 0,
                Trace = traceWriter,
                Console = stdout,
                Engine = (Riscv.Execution.IExecutionEngine?)gdb?.Control ?? engine,
            });
            if (gdb?.Start(new Machines.Debugging.MachineDebugTarget([machine.Hart], machine.Kill)) is { } listenError) return Fail(listenError);
            result = machine.Run();
            if (result.Stop == BareStop.Exited) gdb?.Ended(result.ExitCode, 0);
            else gdb?.Ended(0, 9);
            traceWriter?.Flush();
            if (signature is not null && result.Stop == BareStop.Exited)
            {
                var words = machine.Signature();
                IsomorphCommand.WriteAtomically(signature.FullName, s =>
                {
                    using var w = new StreamWriter(s, new UTF8Encoding(false), leaveOpen: true);
                    foreach (var word in words) w.WriteLine(word.ToString("x8"));
                });
            }
            if (stats) PrintStats(machine, result, engine ?? Riscv.Execution.ExecutionEngines.Default);
        }
        catch (ElfFormatException e)
        {
            return Fail(e.Message);
        }
        catch (MachineConfigurationException e)
        {
            return Fail(e.Message);
        }
        switch (result.Stop)
        {
            case BareStop.Exited:
                return result.ExitCode;
            default:
                Console.Error.WriteLine($"isomorph: {result.Message}");
                return LimitExceeded;
        }
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"isomorph: {message}");
        return IsomorphCommand.UsageError;
    }

    private static void PrintStats(BareMachine machine, BareResult result, Riscv.Execution.IExecutionEngine engine)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.WriteLine($"instructions retired: {result.Instructions:N0}");
        console.WriteLine($"time: {result.Elapsed.TotalSeconds:F3} s, {result.Mips:F1} MIPS");
        if (engine is Riscv.Translation.TranslatingEngine jit) console.WriteLine(jit.Describe());
        var report = TrapStatistics.Sum([machine.Hart.Statistics]);
        if (report.Traps.Count == 0)
        {
            console.WriteLine("traps: none");
            return;
        }
        var table = new Table().AddColumns("trap", "cause", "from", "to", "count");
        foreach (var t in report.Traps)
            table.AddRow(t.IsInterrupt ? "interrupt" : "exception", $"{t.Code} {t.Name}", t.From.ToString(), t.To?.ToString() ?? "host", t.Count.ToString("N0"));
        console.Write(table);
    }
}
