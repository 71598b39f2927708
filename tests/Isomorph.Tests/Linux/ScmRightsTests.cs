using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Isomorph.Tests.Support;
using Microsoft.Win32.SafeHandles;

namespace Isomorph.Tests.Linux;

/// <summary>
/// Descriptors passed over AF_UNIX sockets (guests/linux/user/scm.c). The oracle is the same C
/// program built for the host with gcc and run natively, so the host kernel itself says what Linux
/// prints; qemu-riscv64 agrees except that it loses MSG_CTRUNC when a receiver's control buffer is
/// too small. Across the host boundary the peer is this test process, which gives the guest a real
/// host descriptor and receives one back.
/// </summary>
public sealed unsafe class ScmRightsTests : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("isomorph-scm");

    public void Dispose() => _temp.Delete(recursive: true);

    private string NativeBuild()
    {
        string output = Path.Combine(_temp.FullName, "scm-host");
        var r = Repository.Run("gcc", ["-O2", "-o", output, Path.Combine(Repository.Guests, "linux", "user", "scm.c")], TimeSpan.FromMinutes(1));
        Assert.True(r.ExitCode == 0, r.Stderr);
        return output;
    }

    [Theory]
    [InlineData("static")]
    [InlineData("dynamic")]
    public void DescriptorsPassBetweenGuestProcessesAsOnLinux(string linkage)
    {
        var expected = Repository.Run(NativeBuild(), [], TimeSpan.FromMinutes(1));
        var actual = LinuxGuests.Isomorph([], LinuxGuests.Program("scm", linkage));
        Assert.Equal(0, expected.ExitCode);
        Assert.Equal("", actual.Stderr);
        Assert.Equal(expected.Stdout, actual.Stdout);
        Assert.Contains("room for one: received 2 with \"truncated\", flags MSG_CTRUNC\n", actual.Stdout);
        Assert.Equal(0, actual.ExitCode);
    }

    [Fact]
    public void AHostPeerGivesAndGetsRealDescriptors()
    {
        string socketPath = Path.Combine(_temp.FullName, "s"), filePath = Path.Combine(_temp.FullName, "host-file");
        File.WriteAllText(filePath, "the host's file");
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socketPath));
        listener.Listen(1);
        var peer = Task.Run(() =>
        {
            using var connection = listener.Accept();
            int fd = (int)connection.Handle;
            using (var file = File.OpenHandle(filePath))
                Assert.Equal(4, SendFd(fd, (int)file.DangerousGetHandle(), "file"u8));
            int received = ReceiveFd(fd, out string data);
            Assert.Equal("pipe", data);
            using var pipe = new FileStream(new SafeFileHandle(received, ownsHandle: true), FileAccess.Read, 1);
            string text = new StreamReader(pipe).ReadToEnd();
            connection.Send("d"u8);
            return text;
        });
        var r = LinuxGuests.Isomorph([], LinuxGuests.Program("scm", "static"), "host", socketPath);
        Assert.True(peer.Wait(TimeSpan.FromSeconds(60)), "the host peer did not finish");
        Assert.Equal("", r.Stderr);
        Assert.Equal("""
            from the host: 1 descriptor(s) with "file"
            host's descriptor reads: 15 "the host's file"

            """, r.Stdout);
        Assert.Equal("written by the guest", peer.Result);
        Assert.Equal(0, r.ExitCode);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Iovec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Msghdr
    {
        public byte* Name;
        public uint NameLength;
        public Iovec* Iov;
        public nuint IovLength;
        public byte* Control;
        public nuint ControlLength;
        public int Flags;
    }

    [DllImport("libc", SetLastError = true)] private static extern nint sendmsg(int fd, Msghdr* message, int flags);
    [DllImport("libc", SetLastError = true)] private static extern nint recvmsg(int fd, Msghdr* message, int flags);

    private static long SendFd(int socket, int fd, ReadOnlySpan<byte> data)
    {
        byte* control = stackalloc byte[24];
        new Span<byte>(control, 24).Clear();
        *(ulong*)control = 20;       // cmsg_len: the header and one int
        *(int*)(control + 8) = 1;    // SOL_SOCKET
        *(int*)(control + 12) = 1;   // SCM_RIGHTS
        *(int*)(control + 16) = fd;
        fixed (byte* bytes = data)
        {
            var iov = new Iovec { Base = bytes, Length = (nuint)data.Length };
            var message = new Msghdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 24 };
            return sendmsg(socket, &message, 0);
        }
    }

    private static int ReceiveFd(int socket, out string data)
    {
        byte* control = stackalloc byte[24];
        byte* buffer = stackalloc byte[16];
        var iov = new Iovec { Base = buffer, Length = 16 };
        var message = new Msghdr { Iov = &iov, IovLength = 1, Control = control, ControlLength = 24 };
        long n = recvmsg(socket, &message, 0x4000_0000 /* MSG_CMSG_CLOEXEC */);
        Debug.Assert(n >= 0);
        data = System.Text.Encoding.ASCII.GetString(buffer, (int)Math.Max(0, n));
        Assert.True(message.ControlLength >= 20 && *(int*)(control + 12) == 1, "no SCM_RIGHTS from the guest");
        return *(int*)(control + 16);
    }
}
