using Isomorph.Devices.Bus;

namespace Isomorph.Devices.SifiveTest;

/// <summary>What the guest asked of the SiFive test device.</summary>
public enum TestDeviceRequest { Pass, Fail, Reset }

/// <summary>
/// The SiFive test ("finisher") device of QEMU's virt board, used for poweroff and reboot: a 16- or
/// 32-bit write at offset 0 of 0x5555 powers off with success, 0x3333 | code &lt;&lt; 16 with failure
/// <c>code</c>, and 0x7777 resets. Other values are ignored.
/// </summary>
public sealed class SifiveTest : IMmioDevice
{
    public const ulong WindowSize = 0x1000;
    public const uint PassValue = 0x5555, FailValue = 0x3333, ResetValue = 0x7777;

    /// <summary>Called with the request and, for <see cref="TestDeviceRequest.Fail"/>, the exit code.</summary>
    public event Action<TestDeviceRequest, int>? Requested;

    public string Name => "test";
    public ulong Size => WindowSize;

    public ulong Read(ulong offset, int size) => 0;

    public void Write(ulong offset, int size, ulong value)
    {
        if (offset != 0 || size < 2) return; // OpenSBI writes the status with a 16-bit store
        uint word = (uint)value;
        switch (word & 0xFFFF)
        {
            case PassValue: Requested?.Invoke(TestDeviceRequest.Pass, 0); break;
            case FailValue: Requested?.Invoke(TestDeviceRequest.Fail, (int)(word >> 16)); break;
            case ResetValue: Requested?.Invoke(TestDeviceRequest.Reset, 0); break;
        }
    }
}
