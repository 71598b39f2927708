// Draws bench/jit/workloads.sh's results: for each workload, the time of each engine (isomorph's
// interpreter and translator, the host's own build) divided by qemu-riscv64's, as horizontal bars
// on a log scale that start at qemu's time, so a bar to the left is faster than qemu and one to the
// right slower. usage: isomorph-bench-chart TIMES.csv OUT.png
// TIMES.csv has a header, then workload,engine,seconds rows: engine is interp, jit, qemu or native;
// the workload may be quoted (it may hold commas); seconds is empty when the run failed.
using System.Globalization;
using ScottPlot;

if (args.Length != 2)
{
    Console.Error.WriteLine("usage: isomorph-bench-chart TIMES.csv OUT.png");
    return 2;
}

// seconds[workload][engine], workloads in the file's order.
var workloads = new List<string>();
var seconds = new Dictionary<string, Dictionary<string, double>>();
foreach (var line in File.ReadLines(args[0]).Skip(1))
{
    // Split from the right: only the workload's name may hold a comma.
    int last = line.LastIndexOf(','), middle = last > 0 ? line.LastIndexOf(',', last - 1) : -1;
    if (middle < 0) continue;
    var workload = line[..middle].Trim().Trim('"');
    var engine = line[(middle + 1)..last].Trim();
    if (!seconds.ContainsKey(workload)) { workloads.Add(workload); seconds[workload] = []; }
    if (double.TryParse(line[(last + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0)
        seconds[workload][engine] = s;
}

(string Engine, string Legend, Color Color)[] engines =
[
    ("interp", "isomorph interp", Colors.Orange),
    ("jit", "isomorph jit", Colors.SteelBlue),
    ("native", "native (x86-64 build)", Colors.SeaGreen),
];

// One group of bars per workload, the first at the top, separated by a gap of one bar.
var plot = new Plot();
var bars = new List<Bar>();
var ticks = new List<Tick>();
int stride = engines.Length + 1;
for (int w = 0; w < workloads.Count; w++)
{
    double top = (workloads.Count - 1 - w) * stride + engines.Length - 1;
    ticks.Add(new Tick(top - (engines.Length - 1) / 2.0, workloads[w], isMajor: true));
    if (!seconds[workloads[w]].TryGetValue("qemu", out var qemu)) continue;
    for (int e = 0; e < engines.Length; e++)
    {
        if (!seconds[workloads[w]].TryGetValue(engines[e].Engine, out var s)) continue;
        double ratio = s / qemu;
        bars.Add(new Bar
        {
            Position = top - e,
            ValueBase = 0,
            Value = Math.Log10(ratio),
            FillColor = engines[e].Color,
            Label = ratio >= 10 ? $"{ratio:0}x" : $"{ratio:0.##}x",
        });
    }
}
var barPlot = plot.Add.Bars(bars);
barPlot.Horizontal = true;
barPlot.ValueLabelStyle.FontSize = 11;

var qemuLine = plot.Add.VerticalLine(0, 2, Colors.Black);
qemuLine.LinePattern = LinePattern.Dashed;

// Workload names on the left; powers of ten labelled as ratios at the bottom, with log minor ticks.
plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
plot.Axes.Left.MajorTickStyle.Length = 0;
plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic
{
    MinorTickGenerator = new ScottPlot.TickGenerators.LogMinorTickGenerator(),
    IntegerTicksOnly = true,
    LabelFormatter = x => Math.Pow(10, x).ToString("0.###", CultureInfo.InvariantCulture) + "x",
};
plot.Grid.MajorLineColor = Colors.Black.WithOpacity(0.1);
plot.Grid.MinorLineColor = Colors.Black.WithOpacity(0.04);
plot.Axes.Bottom.Label.Text = "time relative to qemu-riscv64 (log scale; left of the dashed line: faster than qemu)";
plot.Title("Isomorph process VM workloads");
plot.Legend.ManualItems.Add(new LegendItem { LabelText = "qemu-riscv64 = 1x", LineColor = Colors.Black, LinePattern = LinePattern.Dashed, LineWidth = 2 });
foreach (var (_, legend, color) in engines)
    plot.Legend.ManualItems.Add(new LegendItem { LabelText = legend, FillColor = color });
plot.ShowLegend(Edge.Bottom);
// Skia's default face on Debian is a serif one: ask for DejaVu Sans (fonts-dejavu-core) everywhere.
plot.Font.Set("DejaVu Sans");
barPlot.ValueLabelStyle.FontName = plot.Legend.FontName = "DejaVu Sans";

// Pad the value axis so that the bars' labels fit, and always show the line at 1x.
double min = bars.Select(b => b.Value).Append(0).Min(), max = bars.Select(b => b.Value).Append(0).Max();
plot.Axes.SetLimitsX(Math.Floor(min - 0.15), Math.Ceiling(max + 0.15));
plot.Axes.SetLimitsY(-1, workloads.Count * stride - 1);

plot.SavePng(args[1], 1200, 160 + 26 * stride * Math.Max(workloads.Count, 1));
Console.WriteLine($"wrote {args[1]}");
return 0;
