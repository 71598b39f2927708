namespace Isomorph.Tests.Linux;

/// <summary>
/// Page protections as translated code sees them (guests/linux/user/protect.c): a loop that reads
/// and writes a page runs hot, then the page is made read-only, inaccessible, unmapped, mapped
/// again, unmapped by another thread while one reads it hot; a misaligned access and one that
/// straddles into a refused page. Translated loads and stores go straight to the host through
/// direct memory (src/Isomorph.Riscv/Hart/DirectMemory.cs), which must forget a page whenever its
/// protections are reduced: each refused access is a SIGSEGV at that access, as under qemu-riscv64.
/// Run with the interpreter, the translator at its defaults, and the translator compiling every
/// block from its first or fourth execution on the hart's thread (what runs translated then does
/// not depend on timing).
/// </summary>
public sealed class ProtectionTests
{
    [Theory]
    [InlineData("static", "interp", null)]
    [InlineData("dynamic", "jit", null)]
    [InlineData("static", "jit", "0")]
    [InlineData("dynamic", "jit", "3")]
    public void ProtectionsReducedUnderHotCodeAreSeenAtOnce(string linkage, string engine, string? threshold) =>
        LinuxGuests.RunsAsUnderQemu(LinuxGuests.Program("protect", linkage), "load after PROT_NONE: SIGSEGV at page+0", engine, threshold);
}
