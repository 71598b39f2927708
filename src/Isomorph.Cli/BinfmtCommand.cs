using System.CommandLine;
using System.Text;
using Isomorph.Linux.Host;

namespace Isomorph.Cli;

/// <summary>
/// <c>isomorph binfmt install|uninstall|status</c>: Isomorph as the host kernel's binfmt_misc
/// handler for riscv64 ELF executables (<see cref="BinfmtMisc"/>), so that a host shell runs
/// <c>./hello-riscv64</c> directly. Refuses, with one line and status 1, where it cannot: not
/// root, binfmt_misc not mounted, another handler (qemu-user-binfmt's) already registered.
/// </summary>
public static class BinfmtCommand
{
    private const int Cannot = 1;

    public static Command Create()
    {
        var mount = new Option<string>("--mount")
        {
            Description = $"where binfmt_misc is mounted (default {BinfmtMisc.DefaultMount})",
            DefaultValueFactory = _ => BinfmtMisc.DefaultMount,
        };
        var handler = new Option<string?>("--handler")
        {
            Description = "where install writes the handler script the kernel runs (default: beside isomorph.dll)",
        };
        var install = new Command("install", "register Isomorph as the handler of riscv64 ELF executables") { mount, handler };
        install.SetAction(parse => Install(parse.GetValue(mount)!, parse.GetValue(handler) ?? DefaultHandler()));
        var uninstall = new Command("uninstall", "remove Isomorph's registration (and its handler script)") { mount };
        uninstall.SetAction(parse => Uninstall(parse.GetValue(mount)!));
        var status = new Command("status", "show Isomorph's registration and any other handler of riscv64 executables") { mount };
        status.SetAction(parse => Status(parse.GetValue(mount)!));
        return new Command("binfmt", "run riscv64 executables from the host directly, through the kernel's binfmt_misc")
        {
            install, uninstall, status,
        };
    }

    private static string DefaultHandler() => Path.Combine(AppContext.BaseDirectory, "binfmt-riscv64");

    /// <summary>The words that start this CLI again: dotnet and the assembly, or the apphost.</summary>
    private static List<string> Launch()
    {
        string process = Environment.ProcessPath ?? "dotnet";
        string assembly = Path.Combine(AppContext.BaseDirectory, "isomorph.dll");
        return Path.GetFileNameWithoutExtension(process) == "dotnet" ? [process, assembly] : [process];
    }

    /// <summary>Null when binfmt_misc can be used at <paramref name="mount"/>, else why not.</summary>
    private static string? Unusable(string mount)
    {
        if (!File.Exists(Path.Combine(mount, "register")))
            return $"binfmt_misc is not mounted at {mount} (as root: mount -t binfmt_misc binfmt_misc {mount})";
        return null;
    }

    private static int Install(string mount, string handler)
    {
        if (!Environment.IsPrivilegedProcess) return Refuse("install needs root: binfmt_misc registrations are the kernel's, for every user");
        if (Unusable(mount) is { } why) return Refuse(why);
        var entries = BinfmtMisc.Entries(mount);
        var other = entries.FirstOrDefault(e => e.Name != BinfmtMisc.EntryName && e.HandlesRiscv64());
        if (other is not null)
            return Refuse($"{Path.Combine(mount, other.Name)} ({other.Interpreter}) already handles riscv64 executables; " +
                $"remove it first (as root: echo -1 > {Path.Combine(mount, other.Name)})");
        handler = Path.GetFullPath(handler);
        try
        {
            IsomorphCommand.WriteAtomically(handler, s => s.Write(Encoding.UTF8.GetBytes(BinfmtMisc.HandlerScript(Launch()))));
            File.SetUnixFileMode(handler, (UnixFileMode)0b111_101_101);
            if (entries.Any(e => e.Name == BinfmtMisc.EntryName)) BinfmtMisc.Remove(mount, BinfmtMisc.EntryName);
            BinfmtMisc.Register(mount, handler);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Refuse($"cannot register: {e.Message}");
        }
        Console.WriteLine($"registered {Path.Combine(mount, BinfmtMisc.EntryName)}: {BinfmtMisc.Registration(handler)}");
        Console.WriteLine($"handler {handler}:");
        Console.Write(File.ReadAllText(handler));
        return 0;
    }

    private static int Uninstall(string mount)
    {
        if (Unusable(mount) is { } why) return Refuse(why);
        string path = Path.Combine(mount, BinfmtMisc.EntryName);
        if (!File.Exists(path))
        {
            Console.WriteLine($"{path}: not registered");
            return 0;
        }
        if (!Environment.IsPrivilegedProcess) return Refuse("uninstall needs root: binfmt_misc registrations are the kernel's, for every user");
        string handler = BinfmtMisc.Parse(BinfmtMisc.EntryName, File.ReadAllText(path))?.Interpreter ?? "";
        try
        {
            BinfmtMisc.Remove(mount, BinfmtMisc.EntryName);
            // Only a script this command wrote: never whatever file another registration named.
            if (File.Exists(handler) && File.ReadAllText(handler).Contains("isomorph binfmt install", StringComparison.Ordinal)) File.Delete(handler);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Refuse($"cannot remove {path}: {e.Message}");
        }
        Console.WriteLine($"removed {path}");
        return 0;
    }

    private static int Status(string mount)
    {
        if (Unusable(mount) is { } why) return Refuse(why);
        var entries = BinfmtMisc.Entries(mount).Where(e => e.HandlesRiscv64()).ToList();
        if (entries.All(e => e.Name != BinfmtMisc.EntryName)) Console.WriteLine($"{BinfmtMisc.EntryName}: not registered");
        foreach (var e in entries)
            Console.WriteLine($"{e.Name}: {(e.Enabled ? "enabled" : "disabled")}, interpreter {e.Interpreter}, flags {(e.Flags.Length == 0 ? "none" : e.Flags)}" +
                (e.Name == BinfmtMisc.EntryName ? "" : " (another handler of riscv64 executables)"));
        return 0;
    }

    private static int Refuse(string message)
    {
        Console.Error.WriteLine($"isomorph binfmt: {message}");
        return Cannot;
    }
}
