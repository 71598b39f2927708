using Isomorph.Devices.Bus;

namespace Isomorph.Devices.Htif;

/// <summary>
/// The Berkeley host-target interface, as Spike and QEMU's spike machine provide it: the guest
/// writes commands to the 64-bit <c>tohost</c> word; replies arrive in <c>fromhost</c>. A command
/// is device (bits 63:56), command (55:48) and payload (47:0). Supported: device 0 command 0 with
/// payload bit 0 set (exit with status payload >> 1) and device 1 command 1 (console output).
/// Both words are device windows overlaid on RAM at the addresses of the ELF's symbols.
/// </summary>
public sealed class Htif
{
    private ulong _toHost, _fromHost;

    /// <summary>Called with the exit status when the guest asks to exit.</summary>
    public event Action<int>? Exited;

    /// <summary>Called with each byte the guest prints.</summary>
    public event Action<byte>? ConsoleOutput;

    /// <summary>Called with a description of a command Isomorph does not implement.</summary>
    public event Action<string>? Unsupported;

    public IMmioDevice ToHostWindow { get; }
    public IMmioDevice FromHostWindow { get; }

    public Htif()
    {
        ToHostWindow = new Window(this, toHost: true);
        FromHostWindow = new Window(this, toHost: false);
    }

    private void Command(ulong value)
    {
        int device = (int)(value >> 56), command = (int)((value >> 48) & 0xFF);
        ulong payload = value & 0xFFFF_FFFF_FFFF;
        switch (device, command)
        {
            case (0, 0) when (payload & 1) != 0:
                Exited?.Invoke((int)(payload >> 1));
                break;
            case (1, 1):
                ConsoleOutput?.Invoke((byte)payload);
                _toHost = 0;
                _fromHost = (1ul << 56) | (1ul << 48) | 0x100 | (payload & 0xFF);
                break;
            case (1, 0):
                _toHost = 0; // console input: nothing to read
                break;
            default:
                Unsupported?.Invoke($"HTIF device {device} command {command} payload 0x{payload:x} is not supported");
                break;
        }
    }

    private sealed class Window(Htif htif, bool toHost) : IMmioDevice
    {
        public string Name => toHost ? "htif.tohost" : "htif.fromhost";
        public ulong Size => 8;

        public ulong Read(ulong offset, int size)
        {
            ulong word = toHost ? htif._toHost : htif._fromHost;
            return size == 8 ? word : (word >> (int)(offset * 8)) & ((1ul << (size * 8)) - 1);
        }

        public void Write(ulong offset, int size, ulong value)
        {
            ref ulong word = ref toHost ? ref htif._toHost : ref htif._fromHost;
            if (size == 8) word = value;
            else
            {
                ulong mask = ((1ul << (size * 8)) - 1) << (int)(offset * 8);
                word = (word & ~mask) | ((value << (int)(offset * 8)) & mask);
            }
            // A command is complete when the upper half is written (32-bit guests write it last).
            if (toHost && word != 0 && offset + (ulong)size == 8) htif.Command(word);
        }
    }
}
