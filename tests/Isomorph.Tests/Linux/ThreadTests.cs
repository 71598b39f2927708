using Xunit.Abstractions;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Guest threads (clone with CLONE_THREAD), futexes, membarrier, riscv_flush_icache and
/// riscv_hwprobe in the process VM. The C programs (guests/linux/user/threads.c, futex.c,
/// riscvprobe.c) print results known by construction; qemu-riscv64 running the same binary is
/// the oracle wherever it implements the call (it has no riscv_hwprobe).
/// </summary>
public sealed class ThreadTests(ITestOutputHelper output)
{
    private void SameAsQemu(string program, string linkage, params string[] args)
    {
        var path = LinuxGuests.Program(program, linkage);
        var expected = LinuxGuests.Qemu([], path, args);
        Assert.Equal(0, expected.ExitCode);
        var r = LinuxGuests.Isomorph([], path, args);
        Assert.False(r.TimedOut, "isomorph timed out");
        Assert.Equal("", r.Stderr);
        Assert.Equal(expected.Stdout, r.Stdout);
        Assert.Equal(0, r.ExitCode);
    }

    /// <summary>Mutex, atomics, condition variables, join values, TLS, barrier, pthread_kill, a robust mutex, exit_group.</summary>
    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void PthreadsBehaveAsOnLinux(string linkage) => SameAsQemu("threads", linkage);

    /// <summary>EAGAIN, timeouts on both clocks, wake counts and bitsets, requeue, EINTR and SA_RESTART.</summary>
    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void FutexBehavesAsOnLinux(string linkage) => SameAsQemu("futex", linkage);

    /// <summary>
    /// Futexes in MAP_SHARED memory: a raw wait in a forked child woken by its parent, glibc's
    /// process-shared mutex, condition variable and semaphore across fork, and one file mapped at
    /// two addresses (a shared wake through either reaches the waiter, a private one does not).
    /// </summary>
    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void SharedFutexesBehaveAsOnLinux(string linkage) => SameAsQemu("futex", linkage, "shared");

    /// <summary>membarrier's registration rules and commands, and code rewritten at run time after riscv_flush_icache.</summary>
    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void MembarrierAndFlushIcacheBehaveAsOnLinux(string linkage) => SameAsQemu("riscvprobe", linkage, "barriers");

    /// <summary>
    /// Code generated at run time and run hot (guests/linux/user/jitcode.c): rewritten by the thread
    /// that runs it, by another thread while a second one runs it, and run from a page the hot loop
    /// keeps storing into. The same output as under qemu-riscv64 with the interpreter, with the
    /// translator at its defaults, and with the translator compiling every block from its first
    /// execution (threshold 0) or its fourth, on the hart's thread, so that what runs translated
    /// does not depend on timing.
    /// </summary>
    [Theory]
    [InlineData("static", "interp", null)]
    [InlineData("dynamic", "jit", null)]
    [InlineData("static", "jit", "0")]
    [InlineData("dynamic", "jit", "3")]
    public void GeneratedCodeRewrittenWhileHotRunsAsUnderQemu(string linkage, string engine, string? threshold) =>
        LinuxGuests.RunsAsUnderQemu(LinuxGuests.Program("jitcode", linkage), "the other thread saw 99", engine, threshold);

    /// <summary>riscv_hwprobe reports the core Isomorph implements (RV64GC + Zba/Zbb/Zbs), and what it reports executes.</summary>
    [Fact]
    public void HwprobeReportsTheImplementedExtensions()
    {
        const string Expected = """
            riscv_hwprobe: 0
            mvendorid 0, marchid 0, mimpid 0
            base behavior: IMA
            ima_ext_0: FD C ZBA ZBB ZBS
            misaligned accesses: fast
            zicboz block size: 0
            unknown keys: -1/0, -1/0
            reported extensions execute: zba yes, zbb yes, zbs yes
            fd: fsqrt.d(2) squared = 2.000000
            misaligned load: 0x05040302
            with a cpu set: 0
            with flags: EINVAL

            """;
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("riscvprobe", "static"), "hwprobe");
        Assert.Equal("", r.Stderr);
        Assert.Equal(Expected, r.Stdout);
    }

    /// <summary>
    /// execve from a thread other than the main one ends the other threads (one blocked in a futex,
    /// one in pthread_join) and the caller carries on as the process's main thread, with the
    /// process id as its thread id. (qemu-user cannot execve a riscv64 program without binfmt_misc.)
    /// </summary>
    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void ExecveFromAThreadReplacesTheWholeProcess(string linkage)
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("threads", linkage), "exec-from-thread");
        Assert.False(r.TimedOut, "isomorph timed out");
        Assert.Equal("", r.Stderr);
        Assert.Equal("after execve from a thread: same process id yes, thread id is the process id yes\n", r.Stdout);
        Assert.Equal(5, r.ExitCode);
    }

    /// <summary>
    /// Two spinning threads against one: on a host with two free processors they take about the
    /// time of one. The measurement is printed, not asserted (the host's load decides it).
    /// </summary>
    [Fact]
    public void SpinningThreadsRunOnTheirOwnHarts()
    {
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("threads", "static"), "parallel", "20000000");
        Assert.Equal(0, r.ExitCode);
        Assert.StartsWith("parallel: one spinning thread ", r.Stdout);
        output.WriteLine($"isomorph: {r.Stdout.Trim()} (host processors: {Environment.ProcessorCount}; 2.00 would mean one at a time)");
        var q = LinuxGuests.Qemu([], LinuxGuests.Program("threads", "static"), "parallel", "20000000");
        output.WriteLine($"qemu-riscv64: {q.Stdout.Trim()}");
    }

    [Fact]
    public void StraceNamesEachThread()
    {
        var r = LinuxGuests.Isomorph(["--strace"], LinuxGuests.Program("threads", "static"));
        Assert.Equal(0, r.ExitCode);
        var exits = r.Stderr.Split('\n').Where(l => l.Contains(" exit(0)")).Select(l => l.Split(' ')[0]).Distinct().Count();
        Assert.True(exits >= 64, $"expected exit from at least 64 threads, saw {exits}");
        Assert.Contains(" futex(", r.Stderr);
    }
}
