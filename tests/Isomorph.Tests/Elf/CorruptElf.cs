using System.Buffers.Binary;

namespace Isomorph.Tests.Elf;

/// <summary>
/// One damaged copy of a good ELF file: its name, its bytes, and what Linux's binfmt_elf answers an
/// execve of it with (<see cref="Errno"/>, 0 when Linux starts it and the damage is the guest's own
/// business: it runs, or dies of a signal). <see cref="QemuExit"/> is what qemu-riscv64 7.2 did
/// with the same damage to hello-static (measured; "crash" where it died of a signal or assertion).
/// </summary>
public sealed record CorruptElf(string Name, byte[] Bytes, int Errno, string QemuExit)
{
    public override string ToString() => Name;

    public const int ENOENT = 2, EIO = 5, ENOEXEC = 8, EINVAL = 22;

    /// <summary>
    /// The damaged copies of <paramref name="good"/>, a riscv64 Linux program (static, dynamic or
    /// static-PIE). Each changes one header field the loader must check; the cases a program
    /// interpreter allows appear only for a program with PT_INTERP.
    /// </summary>
    public static IEnumerable<CorruptElf> From(byte[] good)
    {
        var elf = new Headers(good);
        int text = elf.Find(1, 0), data = elf.Find(1, 1) >= 0 ? elf.Find(1, 1) : text;
        int interp = elf.Find(3, 0), note = elf.Find(4, 0), dynamic = elf.Find(2, 0);
        bool executable = elf.U16(16) == 2;

        // The ELF header (load_elf_binary's first checks): ENOEXEC. qemu: "Invalid ELF image", status 1.
        yield return Case("bad-magic", ENOEXEC, "1", b => b[1] = (byte)'X');
        yield return Case("class-32", ENOEXEC, "1", b => b[4] = 1);
        yield return Case("big-endian", ENOEXEC, "1", b => b[5] = 2);
        yield return Case("machine-x86-64", ENOEXEC, "1", b => Set16(b, 18, 0x3E));
        yield return Case("type-relocatable", ENOEXEC, "1", b => Set16(b, 16, 1));
        // load_elf_phdrs: exactly 56-byte entries, 1 to 65536/56 of them (ENOEXEC); then a short read (EIO).
        yield return Case("phentsize-64", ENOEXEC, "1", b => Set16(b, 54, 64));
        yield return Case("phnum-zero", ENOEXEC, "1", b => Set16(b, 56, 0));
        yield return Case("phnum-65535", ENOEXEC, "1", b => Set16(b, 56, 0xFFFF));
        yield return Case("phoff-past-end", EIO, "1", b => Set64(b, 32, (ulong)b.Length));
        yield return Case("phoff-wraps", EIO, "1", b => Set64(b, 32, ulong.MaxValue - 7));
        // A loadable segment's bytes beyond the file. Linux maps past the end (later SIGBUS or
        // EFAULT); refusing with EIO, a short read's errno, keeps the damage out of the guest.
        yield return Case("load-offset-wraps", EIO, "1", b => Set64(b, elf.Field(data, 8), ulong.MaxValue - 15));
        yield return Case("load-filesz-wraps", EIO, "crash", b => Set64(b, elf.Field(data, 32), ulong.MaxValue));
        yield return Case("truncated", EIO, "crash", b => { }, length: (int)elf.U64(elf.Field(data, 8)) + 1);
        // Impossible segment geometry: EINVAL, as the checks in load_elf_binary's PT_LOAD loop.
        yield return Case("load-memsz-below-filesz", EINVAL, "crash", b => Set64(b, elf.Field(data, 40), 16));
        // The original host crash: p_vaddr + p_memsz wraps past 2^64. qemu 7.2 aborts on an assertion.
        yield return Case("load-memsz-wraps", EINVAL, "crash",
            b => Set64(b, elf.Field(data, 40), ulong.MaxValue - 0xFFF)); // ends 4 KiB below where it starts
        yield return Case("load-vaddr-wraps", EINVAL, "1", b => Set64(b, elf.Field(data, 16), ulong.MaxValue - 0xFFF));
        yield return Case("load-ends-in-last-page", EINVAL, "1", b =>
        {
            ulong vaddr = 0xFFFF_FFFF_FFFF_0000 | (elf.U64(elf.Field(data, 16)) & 0xFFF);
            Set64(b, elf.Field(data, 16), vaddr);
            Set64(b, elf.Field(data, 40), ulong.MaxValue - vaddr);
        });
        yield return Case("load-memsz-2^50", EINVAL, "1", b => Set64(b, elf.Field(data, 40), 1ul << 50));
        yield return Case("load-above-task-size", EINVAL, "1",
            b => Set64(b, elf.Field(data, 16), (1ul << 39) | (elf.U64(elf.Field(data, 16)) & 0xFFF)));
        yield return Case("load-offset-not-congruent", EINVAL, "1", b => Set64(b, elf.Field(data, 8), elf.U64(elf.Field(data, 8)) + 8));
        yield return Case("no-load-segment", EINVAL, "1", b =>
        {
            for (int i = 0; i < elf.Count; i++)
                if (elf.U32(elf.Field(i, 0)) == 1) Set32(b, elf.Field(i, 0), 0x7000_0099);
        });
        // The entry point Linux jumps to must lie below TASK_SIZE (EINVAL); a program with an
        // interpreter, or a PIE whose bias wraps the entry back into range, starts and dies of SIGSEGV.
        yield return Case("entry-outside", executable && interp < 0 ? EINVAL : 0, "crash", b => Set64(b, 24, ulong.MaxValue - 1));

        // Fields Linux never reads: it runs the program (so does qemu, status 0).
        yield return Case("load-paddr-garbage", 0, "0", b => Set64(b, elf.Field(data, 24), ulong.MaxValue));
        yield return Case("shoff-garbage", 0, "0", b => Set64(b, 40, ulong.MaxValue - 7));
        yield return Case("shnum-65535", 0, "0", b => Set16(b, 60, 0xFFFF));
        yield return Case("shentsize-garbage", 0, "0", b => Set16(b, 58, 3));
        if (note >= 0)
            yield return Case("note-garbage", 0, "0", b => { Set64(b, elf.Field(note, 8), ulong.MaxValue); Set64(b, elf.Field(note, 32), ulong.MaxValue); });
        if (dynamic >= 0)
            yield return Case("dynamic-garbage", 0, "crash", b =>
            {
                Set64(b, elf.Field(dynamic, 8), ulong.MaxValue);
                Set64(b, elf.Field(dynamic, 16), ulong.MaxValue);
                Set64(b, elf.Field(dynamic, 32), ulong.MaxValue);
            });
        // An empty text segment: nothing mapped at the entry, the guest dies of SIGSEGV (qemu too).
        yield return Case("load-empty-text", 0, "crash", b => { Set64(b, elf.Field(text, 32), 0); Set64(b, elf.Field(text, 40), 0); });

        if (interp < 0) yield break;
        // PT_INTERP: 2 to PATH_MAX bytes ending in NUL (ENOEXEC), read in full (EIO), found (ENOENT).
        ulong interpOffset = elf.U64(elf.Field(interp, 8)), interpSize = elf.U64(elf.Field(interp, 32));
        yield return Case("interp-size-1", ENOEXEC, "1", b => Set64(b, elf.Field(interp, 32), 1));
        yield return Case("interp-size-4097", ENOEXEC, "1", b => Set64(b, elf.Field(interp, 32), 4097));
        yield return Case("interp-not-nul-terminated", ENOEXEC, "1", b => Set64(b, elf.Field(interp, 32), interpSize - 1));
        yield return Case("interp-offset-wraps", EIO, "1", b => Set64(b, elf.Field(interp, 8), ulong.MaxValue));
        // qemu 7.2 tries to allocate 2^64 bytes and aborts.
        yield return Case("interp-size-wraps", EIO, "crash", b => Set64(b, elf.Field(interp, 32), ulong.MaxValue));
        yield return Case("interp-missing", ENOENT, "1", b => b[(int)(interpOffset + interpSize - 2)] = (byte)'X');

        CorruptElf Case(string name, int errno, string qemu, Action<byte[]> damage, int? length = null)
        {
            var bytes = good[..(length ?? good.Length)];
            damage(bytes);
            return new CorruptElf(name, bytes, errno, qemu);
        }
    }

    /// <summary>
    /// The damaged copies of a bare-metal ELF (guests/samples/hello.elf), all of which
    /// <c>isomorph bare</c> must refuse: the bare machine loads at p_paddr into RAM at 0x8000_0000.
    /// </summary>
    public static IEnumerable<CorruptElf> FromBare(byte[] good)
    {
        var elf = new Headers(good);
        int load = elf.Find(1, 0);
        // The cases about virtual addresses mean nothing to a machine that loads at physical ones.
        string[] virtualOnly = ["load-offset-not-congruent", "load-above-task-size", "load-vaddr-wraps", "load-ends-in-last-page", "entry-outside"];
        foreach (var c in From(good))
            if (c.Errno != 0 && !virtualOnly.Contains(c.Name))
                yield return c;
        yield return Bare("load-paddr-wraps", b => Set64(b, elf.Field(load, 24), ulong.MaxValue - 0xFFF));
        yield return Bare("load-paddr-below-ram", b => Set64(b, elf.Field(load, 24), 0x1000));
        yield return Bare("load-memsz-past-ram", b => Set64(b, elf.Field(load, 40), 1ul << 40));
        yield return Bare("entry-outside-ram", b => Set64(b, 24, 0x1000));
        yield return Bare("symtab-entsize-wraps", b => ForSymbolTable(elf, b, (sh, bytes) => Set64(bytes, sh + 56, ulong.MaxValue)));
        yield return Bare("symtab-offset-wraps", b => ForSymbolTable(elf, b, (sh, bytes) => Set64(bytes, sh + 24, ulong.MaxValue - 3)));
        yield return Bare("tohost-at-top", b => SetSymbol(elf, b, "tohost", ulong.MaxValue - 3));
        yield return Bare("tohost-over-clint", b => SetSymbol(elf, b, "tohost", 0x200_0000));

        CorruptElf Bare(string name, Action<byte[]> damage)
        {
            var bytes = (byte[])good.Clone();
            damage(bytes);
            return new CorruptElf(name, bytes, ENOEXEC, "");
        }
    }

    private static void ForSymbolTable(Headers elf, byte[] bytes, Action<int, byte[]> damage)
    {
        ulong shoff = elf.U64(40);
        int size = elf.U16(58), count = elf.U16(60);
        for (int i = 0; i < count; i++)
            if (elf.U32((int)shoff + i * size + 4) == 2) damage((int)shoff + i * size, bytes);
    }

    private static void SetSymbol(Headers elf, byte[] bytes, string name, ulong value)
    {
        ulong shoff = elf.U64(40);
        int size = elf.U16(58), count = elf.U16(60);
        for (int i = 0; i < count; i++)
        {
            int sh = (int)shoff + i * size;
            if (elf.U32(sh + 4) != 2) continue;
            int symbols = (int)elf.U64(sh + 24), symbolsSize = (int)elf.U64(sh + 32);
            int strings = (int)elf.U64((int)shoff + (int)elf.U32(sh + 40) * size + 24);
            for (int s = symbols; s < symbols + symbolsSize; s += 24)
            {
                int at = strings + (int)elf.U32(s), end = Array.IndexOf(bytes, (byte)0, at);
                if (System.Text.Encoding.ASCII.GetString(bytes, at, end - at) == name) Set64(bytes, s + 8, value);
            }
        }
    }

    private static void Set16(byte[] b, int at, ushort v) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(at), v);
    private static void Set32(byte[] b, int at, uint v) => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(at), v);
    private static void Set64(byte[] b, int at, ulong v) => BinaryPrimitives.WriteUInt64LittleEndian(b.AsSpan(at), v);

    /// <summary>Reads the good file's headers (trusted: the generator's input is a well-formed program).</summary>
    private sealed class Headers(byte[] good)
    {
        public ushort U16(int at) => BinaryPrimitives.ReadUInt16LittleEndian(good.AsSpan(at));
        public uint U32(int at) => BinaryPrimitives.ReadUInt32LittleEndian(good.AsSpan(at));
        public ulong U64(int at) => BinaryPrimitives.ReadUInt64LittleEndian(good.AsSpan(at));
        public int Count => U16(56);

        /// <summary>The file offset of byte <paramref name="field"/> of program header <paramref name="index"/>.</summary>
        public int Field(int index, int field) => (int)U64(32) + index * 56 + field;

        /// <summary>The index of the <paramref name="nth"/> program header of type <paramref name="type"/>, or -1.</summary>
        public int Find(uint type, int nth)
        {
            for (int i = 0; i < Count; i++)
                if (U32(Field(i, 0)) == type && nth-- == 0) return i;
            return -1;
        }
    }
}
