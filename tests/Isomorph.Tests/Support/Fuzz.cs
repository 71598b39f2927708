using CsCheck;

namespace Isomorph.Tests.Support;

/// <summary>
/// Property tests over generated or mutated inputs (CsCheck). ISOMORPH_FUZZ_ITERATIONS sets how
/// many inputs each property sees (a small default, so the suite stays quick: raise it for a real
/// campaign), ISOMORPH_FUZZ_SEED replays a run: a failure names the seed that reproduces it.
/// Each input must finish within <see cref="Deadline"/>: a loader that loops is a failure too.
/// </summary>
public static class Fuzz
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    public static long Iterations(long defaultIterations) =>
        long.TryParse(Environment.GetEnvironmentVariable("ISOMORPH_FUZZ_ITERATIONS"), out long n) && n > 0 ? n : defaultIterations;

    public static string? Seed => Environment.GetEnvironmentVariable("ISOMORPH_FUZZ_SEED") is { Length: > 0 } s ? s : null;

    /// <summary>
    /// Checks <paramref name="property"/> on <see cref="Iterations"/> inputs from <paramref name="gen"/>,
    /// one at a time (the machines these run on are shared). A failure's message carries the seed.
    /// </summary>
    public static void Check<T>(Gen<T> gen, Action<T> property, long defaultIterations, Func<T, string>? describe = null)
    {
        try
        {
            gen.Sample(input => WithinDeadline(() => property(input)), seed: Seed, iter: Iterations(defaultIterations), threads: 1, print: describe);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new Xunit.Sdk.XunitException(
                $"fuzzing failed; replay with ISOMORPH_FUZZ_SEED=<the seed CsCheck names below> (given: {Seed ?? "none, random"})\n{e.Message}", e);
        }
    }

    private static void WithinDeadline(Action action)
    {
        var task = Task.Factory.StartNew(action, TaskCreationOptions.LongRunning);
        if (Task.WhenAny(task, Task.Delay(Deadline)).Result != task)
            throw new TimeoutException($"an input took longer than {Deadline.TotalSeconds} s (a hang)");
        task.GetAwaiter().GetResult();
    }
}
