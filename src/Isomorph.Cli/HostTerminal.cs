using System.Diagnostics;

namespace Isomorph.Cli;

/// <summary>
/// The host terminal while a guest owns it: raw mode (no echo, no line editing, Ctrl-C goes to the
/// guest) when stdin is a TTY, restored on dispose. Uses stty(1) on the inherited terminal.
/// </summary>
public sealed class HostTerminal : IDisposable
{
    private readonly string? _saved;

    private HostTerminal(string? saved) => _saved = saved;

    public static bool IsTerminal => !Console.IsInputRedirected;

    /// <summary>Puts the terminal in raw mode when stdin is one; otherwise does nothing.</summary>
    public static HostTerminal EnterRawMode()
    {
        if (!IsTerminal || OperatingSystem.IsWindows()) return new HostTerminal(null);
        string? saved = Stty("-g")?.Trim();
        if (string.IsNullOrEmpty(saved) || Stty("raw -echo") is null) return new HostTerminal(null);
        return new HostTerminal(saved);
    }

    public void Dispose()
    {
        if (_saved is not null) Stty(_saved);
    }

    private static string? Stty(string arguments)
    {
        try
        {
            var psi = new ProcessStartInfo("stty", arguments) { RedirectStandardOutput = true, UseShellExecute = false };
            using var p = Process.Start(psi)!;
            string output = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            return p.ExitCode == 0 ? output : null;
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            return null;
        }
    }
}
