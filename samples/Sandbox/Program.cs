// A sandbox: the program may read, write and exit, and nothing else; a call outside the list ends
// it (SIGSYS), as a seccomp filter would. It also gets a budget of instructions and of memory.
using Isomorph;

var output = new MemoryStream();
var exit = new LinuxProgram(args[0], args[1..])
{
    StandardOutput = output,
    AllowedSystemCalls = ["read", "write", "exit", "exit_group", "brk", "mmap", "munmap", "getpid", "set_tid_address",
        "set_robust_list", "rseq", "prlimit64", "readlinkat", "getrandom", "mprotect", "riscv_hwprobe", "newfstatat", "uname"],
    MaxInstructions = 50_000_000,
    MaxMemory = 64 << 20,
}.Run();
Console.Write(System.Text.Encoding.UTF8.GetString(output.ToArray()));
Console.WriteLine($"{exit.Reason}: status {exit.ExitStatus}, signal {exit.Signal}");
return 0;
