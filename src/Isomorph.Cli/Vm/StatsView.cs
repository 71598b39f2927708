using Spectre.Console;

namespace Isomorph.Cli.Vm;

/// <summary>Statistics and machine information as tables for a person.</summary>
public static class StatsView
{
    /// <summary>A console that writes to <paramref name="writer"/> (stderr for --stats, stdout for isomorph vm).</summary>
    public static IAnsiConsole ConsoleOn(TextWriter writer) =>
        AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(writer) });

    public static void Write(IAnsiConsole console, StatsInfo s)
    {
        var summary = new Table().AddColumns("harts", "instructions", "wall time", "MIPS");
        summary.AddRow(s.Harts.ToString(), s.Instructions.ToString("N0"), $"{s.WallSeconds:F3} s", $"{s.Mips:F1}");
        console.Write(summary);

        var traps = new Table { Title = new TableTitle("traps") }.AddColumns("kind", "cause", "from", "to", "count");
        foreach (var t in s.Traps) traps.AddRow(t.Kind, $"{t.Code} {t.Cause}", t.From, t.To, t.Count.ToString("N0"));
        if (s.Traps.Count == 0) traps.AddRow("none", "", "", "", "0");
        console.Write(traps);

        if (s.Interrupts.Count > 0)
        {
            var interrupts = new Table { Title = new TableTitle("interrupts") }.AddColumns("cause", "count");
            foreach (var i in s.Interrupts) interrupts.AddRow($"{i.Code} {i.Cause}", i.Count.ToString("N0"));
            console.Write(interrupts);
        }
        if (s.SbiCalls.Count > 0)
        {
            var sbi = new Table { Title = new TableTitle("SBI calls") }.AddColumns("extension", "EID", "count");
            foreach (var c in s.SbiCalls) sbi.AddRow(Markup.Escape(c.Extension), c.Eid, c.Count.ToString("N0"));
            console.Write(sbi);
        }
        if (s.Mmio.Count > 0)
        {
            var mmio = new Table { Title = new TableTitle("MMIO accesses") }.AddColumns("device", "accesses");
            foreach (var m in s.Mmio) mmio.AddRow(Markup.Escape(m.Device), m.Accesses.ToString("N0"));
            console.Write(mmio);
        }
    }

    public static void Write(IAnsiConsole console, MachineInfo m)
    {
        var summary = new Table().AddColumns("board", "state", "harts", "memory", "instructions");
        summary.AddRow(Markup.Escape(m.Board ?? ""), m.State, m.Harts.ToString(), $"{m.MemoryBytes >> 20} MiB", m.Instructions.ToString("N0"));
        console.Write(summary);
        var devices = new Table { Title = new TableTitle("devices") }.AddColumns("device", "base", "size");
        foreach (var d in m.Devices) devices.AddRow(Markup.Escape(d.Name), d.Base, d.Size);
        console.Write(devices);
    }
}
