using Isomorph.Devices.Bus;
using Isomorph.Machines.Virt;
using Isomorph.Riscv.Execution;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Machines;

/// <summary>
/// The dirty log is what a live migration's pre-copy rests on: RAM copied while the guest writes
/// it, then the pages the log names copied again, round after round, must end equal to RAM once the
/// machine is paused and the last pages are copied. guests/virt/dirty-writer.S has two harts store
/// to every page of 4 MiB over and over, in every way a hart stores (sd, sb, sh, AMO, LR/SC), under
/// each engine (the translator's stores go through its inline TLB compare) and on one or two host threads.
/// </summary>
public sealed class DirtyLogTests
{
    [Theory]
    [InlineData("interp", 1)]
    [InlineData("jit", 1)]
    [InlineData("jit", 2)]
    public unsafe void RamCopiedRoundByRound_EndsEqualToRam(string engine, int hostThreads)
    {
        using var machine = new VirtMachine(new VirtOptions
        {
            Firmware = null, Kernel = GuestPrograms.Path("virt/dirty-writer.elf"), Harts = 2, HostThreads = hostThreads,
            MemorySize = 64ul << 20, Engine = ExecutionEngines.FromName(engine), Console = new ConsoleCapture(),
        });
        var run = Task.Run(machine.Run);
        try
        {
            // Each writer through many sweeps of its 2 MiB (a sweep is about 8,000 instructions): on two
            // host threads one hart can run millions of instructions before the other starts (a CI run
            // found 739 pages backed after 5 M instructions in all).
            while (machine.Harts.Take(2).Any(h => Volatile.Read(ref h.Instret) < 2_500_000)) Thread.Sleep(5);
            var ram = machine.Ram;
            int pages = (int)(ram.Size >> Ram.PageShift);
            var shadow = new byte[ram.Size];
            var bitmap = new ulong[(pages + 63) / 64];

            machine.StartDirtyLog();
            long first = machine.CollectDirtyPages(bitmap);
            // A log starts with every page the host backs marked: the program and its 4 MiB, not all 64 MiB.
            Assert.InRange(first, 1025, pages / 4);
            Copy(ram, shadow, bitmap);

            var written = new List<long>();
            for (int round = 0; round < 6; round++)
            {
                Thread.Sleep(30);
                written.Add(machine.CollectDirtyPages(bitmap));
                Copy(ram, shadow, bitmap);
            }
            // The guest writes its 1024 pages all the time, and nothing else: the log names them, not all of RAM.
            Assert.All(written, n => Assert.InRange(n, 1, 1100));

            machine.Pause();
            machine.CollectDirtyPages(bitmap);
            Copy(ram, shadow, bitmap);
            var live = new ReadOnlySpan<byte>(ram.Host, (int)ram.Size);
            int differs = live.CommonPrefixLength(shadow);
            Assert.True(differs == shadow.Length, $"page 0x{ram.Base + (ulong)differs & ~0xFFFul:x} changed and the log did not say so");
            machine.StopDirtyLog();
        }
        finally
        {
            machine.Stop();
            run.Wait(TimeSpan.FromSeconds(30));
        }
    }

    private static unsafe void Copy(Ram ram, byte[] shadow, ulong[] bitmap)
    {
        for (int word = 0; word < bitmap.Length; word++)
            for (ulong bits = bitmap[word]; bits != 0; bits &= bits - 1)
            {
                int page = word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits);
                new ReadOnlySpan<byte>(ram.Host + ((long)page << Ram.PageShift), (int)Ram.PageSize).CopyTo(shadow.AsSpan(page << Ram.PageShift));
            }
    }
}
