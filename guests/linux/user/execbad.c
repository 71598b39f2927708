// execve of damaged ELF files, written by the guest itself: each is a copy of this program
// (argv[0], a static ET_EXEC) with one header field changed, and execve must fail with the errno
// Linux's binfmt_elf gives — never crash the VM. (Linux checks the segments after the point of no
// return and kills the caller with SIGSEGV where it answers EINVAL; Isomorph loads the new image
// before it gives up the old one, so the caller gets the errno and carries on.)
// Run it as "execbad" in a writable directory (its --root); "execbad ok" exits 42.
#define _GNU_SOURCE // memmem
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char missing_interpreter[] = "/no/such/ld.so";
static unsigned char *image;
static size_t image_size;
static int failures;

static Elf64_Ehdr *ehdr(unsigned char *b) { return (Elf64_Ehdr *)b; }
static Elf64_Phdr *phdr(unsigned char *b, int i) { return (Elf64_Phdr *)(b + ehdr(b)->e_phoff) + i; }

static int find(unsigned char *b, uint32_t type, int nth)
{
    for (int i = 0; i < ehdr(b)->e_phnum; i++)
        if (phdr(b, i)->p_type == type && nth-- == 0) return i;
    return -1;
}

static void write_file(const char *path, const void *bytes, size_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0755);
    if (fd < 0 || write(fd, bytes, size) != (ssize_t)size || close(fd) != 0) {
        perror(path);
        exit(2);
    }
}

// Writes the damaged copy, execs it, and checks the errno.
static void expect(const char *name, int expected, void (*damage)(unsigned char *, size_t *))
{
    unsigned char *b = malloc(image_size);
    size_t size = image_size;
    memcpy(b, image, size);
    damage(b, &size);
    char path[64];
    snprintf(path, sizeof path, "/bad-%s", name);
    write_file(path, b, size);
    free(b);
    char *argv[] = {path, "ok", NULL}, *envp[] = {NULL};
    execve(path, argv, envp);
    int got = errno;
    if (got != expected) {
        printf("%s: errno %d (%s), expected %d (%s)\n", name, got, strerror(got), expected, strerror(expected));
        failures++;
    } else {
        printf("%s: %s\n", name, strerror(got));
    }
}

#define DATA phdr(b, find(b, PT_LOAD, 1))
#define CASE(name, body) static void name(unsigned char *b, size_t *size) { (void)size; body; }
CASE(bad_magic, b[1] = 'X')
CASE(machine, ehdr(b)->e_machine = EM_SPARCV9)
/* An x86-64 header: a host program on an x86-64 host, which --root refuses (EACCES). */
CASE(host_machine, ehdr(b)->e_machine = EM_X86_64)
CASE(phentsize, ehdr(b)->e_phentsize = 64)
CASE(phnum_zero, ehdr(b)->e_phnum = 0)
CASE(phoff_wraps, ehdr(b)->e_phoff = UINT64_MAX - 7)
CASE(offset_wraps, DATA->p_offset = UINT64_MAX - 15)
CASE(filesz_wraps, DATA->p_filesz = UINT64_MAX)
CASE(truncated, *size = DATA->p_offset + 1)
CASE(memsz_below_filesz, DATA->p_memsz = 16)
CASE(memsz_wraps, DATA->p_memsz = 0 - DATA->p_vaddr + 0x10000) // the host crash of issue 8
CASE(vaddr_wraps, DATA->p_vaddr = 0 - 0x1000ul)
CASE(memsz_huge, DATA->p_memsz = 1ul << 50)
CASE(offset_not_congruent, DATA->p_offset += 8)
CASE(entry_outside, ehdr(b)->e_entry = UINT64_MAX - 1)
CASE(no_load, for (int i = 0; i < ehdr(b)->e_phnum; i++) if (phdr(b, i)->p_type == PT_LOAD) phdr(b, i)->p_type = 0x70000099)
CASE(shoff_garbage, ehdr(b)->e_shoff = UINT64_MAX - 7)

// PT_INTERP made from the note header, pointing at a string in this file.
static void interp_at(unsigned char *b, const char *text, size_t length)
{
    unsigned char *at = memmem(b, image_size, text, strlen(text) + 1);
    Elf64_Phdr *p = phdr(b, find(b, PT_NOTE, 0));
    p->p_type = PT_INTERP;
    p->p_offset = at ? (uint64_t)(at - b) : 0;
    p->p_filesz = length;
}
CASE(interp_missing, interp_at(b, missing_interpreter, sizeof missing_interpreter))
CASE(interp_size_1, interp_at(b, missing_interpreter, 1))
CASE(interp_not_nul_terminated, interp_at(b, missing_interpreter, sizeof missing_interpreter - 1))
CASE(interp_not_elf, interp_at(b, "/notelf", 8))

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "ok") == 0) return 42;
    int fd = open(argv[0], O_RDONLY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        perror(argv[0]);
        return 2;
    }
    image_size = st.st_size;
    image = malloc(image_size);
    if (read(fd, image, image_size) != (ssize_t)image_size) return 2;
    close(fd);
    char not_elf[128];
    memset(not_elf, 'x', sizeof not_elf);
    write_file("/notelf", not_elf, sizeof not_elf);

    expect("bad-magic", ENOEXEC, bad_magic);
    expect("machine", ENOEXEC, machine);
    expect("host-machine", EACCES, host_machine);
    expect("phentsize", ENOEXEC, phentsize);
    expect("phnum-zero", ENOEXEC, phnum_zero);
    expect("phoff-wraps", EIO, phoff_wraps);
    expect("offset-wraps", EIO, offset_wraps);
    expect("filesz-wraps", EIO, filesz_wraps);
    expect("truncated", EIO, truncated);
    expect("memsz-below-filesz", EINVAL, memsz_below_filesz);
    expect("memsz-wraps", EINVAL, memsz_wraps);
    expect("vaddr-wraps", EINVAL, vaddr_wraps);
    expect("memsz-huge", EINVAL, memsz_huge);
    expect("offset-not-congruent", EINVAL, offset_not_congruent);
    expect("entry-outside", EINVAL, entry_outside);
    expect("no-load", EINVAL, no_load);
    expect("interp-missing", ENOENT, interp_missing);
    expect("interp-size-1", ENOEXEC, interp_size_1);
    expect("interp-not-nul-terminated", ENOEXEC, interp_not_nul_terminated);
    expect("interp-not-elf", ELIBBAD, interp_not_elf);

    // Section headers Linux never reads: the damaged copy runs.
    unsigned char *b = malloc(image_size);
    memcpy(b, image, image_size);
    size_t size = image_size;
    shoff_garbage(b, &size);
    write_file("/bad-shoff", b, size);
    pid_t child = fork();
    if (child == 0) {
        char *args[] = {"/bad-shoff", "ok", NULL}, *envp[] = {NULL};
        execve(args[0], args, envp);
        _exit(100 + errno);
    }
    int status;
    if (waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status) != 42) {
        printf("shoff-garbage: status 0x%x, expected exit 42\n", status);
        failures++;
    } else {
        printf("shoff-garbage: runs\n");
    }
    printf("%d failures\n", failures);
    return failures != 0;
}
