using System.Text.RegularExpressions;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// MIT's xv6-riscv, an operating system written for QEMU's virt board (guests/xv6/build.sh), booted
/// by <c>isomorph boot --firmware none</c> as QEMU boots it with <c>-bios none</c>: the kernel runs
/// in M-mode from 0x8000_0000 on three harts, takes the UART's and the disk's interrupts through the
/// PLIC's S-mode contexts and reads its file system from the first virtio-mmio slot, which it
/// accepts only with QEMU's vendor id. Its shell is driven over the serial console (a Unix socket),
/// and the same session runs under qemu-system-riscv64, the oracle.
/// </summary>
public sealed partial class Xv6Tests() : CliTest("isomorph-xv6")
{
    private static readonly TimeSpan BootTimeout = TimeSpan.FromMinutes(2), CommandTimeout = TimeSpan.FromSeconds(60),
        UsertestsTimeout = TimeSpan.FromMinutes(15);
    private const string Prompt = "$ ";

    /// <summary>The kernel and the pristine fs.img, built once per test run (cached across runs).</summary>
    private static readonly Lazy<(string Kernel, string FsImage)> Built = new(() =>
    {
        var script = Path.Combine(Repository.Guests, "xv6", "build.sh");
        var r = Repository.Run(script, [], TimeSpan.FromMinutes(10));
        Assert.True(r.ExitCode == 0 && !r.TimedOut, $"{script} failed ({r.ExitCode}):\n{r.Stderr}");
        string dir = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();
        return (Path.Combine(dir, "kernel"), Path.Combine(dir, "fs.img"));
    });

    /// <summary>A fresh copy of fs.img for one machine (xv6 writes to its disk).</summary>
    private string FsImage(string name)
    {
        string path = Path.Combine(Temp.FullName, name);
        File.Copy(Built.Value.FsImage, path);
        return path;
    }

    private IsomorphProcess BootIsomorph(string sock) => new("boot", "--firmware", "none", "--kernel", Built.Value.Kernel,
        "--memory", "128M", "--cpus", "3", "--disk", FsImage("isomorph-fs.img"), "--serial", $"unix:{sock}");

    // The flags of xv6's own `make qemu`; QEMU 7.2's virtio-mmio is legacy (version 1) unless told otherwise.
    private IsomorphProcess BootQemu(string sock) => new("qemu-system-riscv64", ["-M", "virt", "-bios", "none",
        "-kernel", Built.Value.Kernel, "-m", "128M", "-smp", "3", "-display", "none", "-monitor", "none",
        "-global", "virtio-mmio.force-legacy=false", "-drive", $"file={FsImage("qemu-fs.img")},if=none,format=raw,id=x0",
        "-device", "virtio-blk-device,drive=x0,bus=virtio-mmio-bus.0", "-serial", $"unix:{sock},server=on"]);

    /// <summary>Boots to the shell, runs <paramref name="commands"/> one by one; each command's output (between its echo and the next prompt).</summary>
    private static List<string> Session(Func<string, IsomorphProcess> boot, string sock, params (string Command, TimeSpan Timeout)[] commands)
    {
        using var vm = boot(sock);
        using var console = new SocketConsole(vm.Connect(sock, BootTimeout));
        int at = console.WaitFor("init: starting sh", BootTimeout);
        at = at < 0 ? -1 : console.WaitFor(Prompt, BootTimeout, at);
        Assert.True(at >= 0, "xv6 reached no shell prompt:\n" + console.Text + vm.Stderr);
        Assert.True(console.WaitFor("hart 2 starting", CommandTimeout) >= 0, "hart 2 did not start:\n" + console.Text);
        at = Math.Max(at, console.Text.Length);

        var outputs = new List<string>();
        foreach (var (command, timeout) in commands)
        {
            console.Send(command + "\n");
            int start = console.WaitFor(command + "\n", CommandTimeout, at); // xv6's console echoes what it reads
            int end = start < 0 ? -1 : console.WaitFor(Prompt, timeout, start);
            Assert.True(end >= 0, $"no prompt after '{command}':\n{Tail(console.Text)}{vm.Stderr}");
            outputs.Add(console.Text[start..(end - Prompt.Length)]);
            at = end;
        }
        Assert.False(vm.HasExited, "the machine ended:\n" + vm.Stderr);
        return outputs;
    }

    private static string Tail(string text) => text.Length <= 4000 ? text : "..." + text[^4000..];

    private static readonly (string, TimeSpan)[] Shell =
    [
        ("ls", CommandTimeout),
        ("echo hi > f", CommandTimeout),
        ("cat f", CommandTimeout),
        ("mkdir d; echo nested > d/g; ls d; cat d/g; rm f; cat f", CommandTimeout),
        ("wc README", CommandTimeout),
    ];

    private static void AssertShell(List<string> o)
    {
        Assert.Contains("README", o[0]);
        Assert.Matches(@"usertests\s+2 \d+ \d+", o[0]);
        Assert.Equal("", o[1]);
        Assert.Equal("hi\n", o[2]);
        Assert.Contains("nested\n", o[3]);
        Assert.Contains("cat: cannot open f", o[3]);
        Assert.Matches(@"^\d+ \d+ \d+ README\n$", o[4]);
    }

    [Xv6Fact]
    public void Xv6_BootsOnIsomorph_FindsItsVirtioDisk_AndItsShellWorks()
    {
        var o = Session(BootIsomorph, Path.Combine(Temp.FullName, "xv6.sock"), Shell);
        AssertShell(o);
    }

    [Xv6Fact]
    public void Xv6_SameSession_OnIsomorphAndOnQemu_PrintsTheSame()
    {
        var iso = Session(BootIsomorph, Path.Combine(Temp.FullName, "iso.sock"), Shell);
        var qemu = Session(BootQemu, Path.Combine(Temp.FullName, "qemu.sock"), Shell);
        AssertShell(qemu);
        Assert.Equal(qemu, iso);
    }

    /// <summary>
    /// One of xv6's own kernel tests (usertests NAME runs one): copyin of bad user pointers. Each
    /// run also counts the free pages before and after (sbrk of all 128 MiB page by page), which
    /// costs far more than the test: about 6 minutes on Isomorph on a loaded 2-core machine, 1 on
    /// QEMU; the whole `usertests -q` is too long for the suite.
    /// </summary>
    private static readonly string[] QuickUsertests = ["copyin"];

    [Xv6Fact]
    public void Xv6_Usertests_Pass_OnIsomorph_AsOnQemu()
    {
        var commands = QuickUsertests.Select(t => ($"usertests {t}", UsertestsTimeout)).ToArray();
        var iso = Session(BootIsomorph, Path.Combine(Temp.FullName, "iso.sock"), commands);
        var qemu = Session(BootQemu, Path.Combine(Temp.FullName, "qemu.sock"), commands);
        for (int i = 0; i < commands.Length; i++)
        {
            Assert.True(qemu[i].Contains("ALL TESTS PASSED"), $"{commands[i].Item1} on QEMU:\n{qemu[i]}");
            Assert.True(iso[i].Contains("ALL TESTS PASSED"), $"{commands[i].Item1} on Isomorph:\n{iso[i]}");
            Assert.Equal(Passed(qemu[i]), Passed(iso[i]));
        }

        static string Passed(string output) => string.Join(",", TestOk().Matches(output).Select(m => m.Value));
    }

    [GeneratedRegex(@"test \w+: OK")]
    private static partial Regex TestOk();
}

/// <summary>A test that needs xv6's source: skipped, visibly, where guests/xv6/build.sh finds none (its status 3).</summary>
public sealed class Xv6FactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Missing = new(() =>
    {
        var r = Repository.Run(Path.Combine(Repository.Guests, "xv6", "build.sh"), ["--check-source"], TimeSpan.FromSeconds(60));
        return r.ExitCode == 3 ? r.Stderr.Trim() : null;
    });

    public Xv6FactAttribute()
    {
        if (Missing.Value is { } reason) Skip = reason;
    }
}
