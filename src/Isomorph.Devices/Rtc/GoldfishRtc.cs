using Isomorph.Devices.Bus;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Rtc;

/// <summary>
/// The Goldfish real-time clock (Android emulator, QEMU virt): nanoseconds since the Unix epoch in
/// TIME_LOW/TIME_HIGH (reading TIME_LOW latches TIME_HIGH), and one alarm. The alarm fires when the
/// machine calls <see cref="Poll"/> at or after its time.
/// </summary>
public sealed class GoldfishRtc : IMmioDevice, ISnapshotState
{
    public const ulong WindowSize = 0x1000;
    private const int TimeLow = 0x00, TimeHigh = 0x04, AlarmLow = 0x08, AlarmHigh = 0x0C,
        IrqEnabled = 0x10, ClearAlarm = 0x14, AlarmStatus = 0x18, ClearInterrupt = 0x1C;

    private readonly Func<ulong> _nanoseconds;
    private readonly IInterruptLine _irq;
    private ulong _latchedHigh, _alarm, _timeOffset;
    private uint _alarmHighPending;
    private bool _irqEnabled, _alarmArmed, _interrupt;

    /// <param name="irq">The interrupt line its alarm raises (none: no alarm interrupt).</param>
    /// <param name="nanoseconds">The host's wall clock in nanoseconds since the epoch (default: the system clock).</param>
    public GoldfishRtc(IInterruptLine? irq = null, Func<ulong>? nanoseconds = null)
    {
        _irq = irq ?? InterruptLine.None;
        _nanoseconds = nanoseconds ?? (() => (ulong)(DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
    }

    public string Name => "rtc";
    public ulong Size => WindowSize;

    private ulong Now => _nanoseconds() + _timeOffset;

    /// <summary>Fires the alarm when its time has come.</summary>
    public void Poll()
    {
        if (_alarmArmed && Now >= _alarm)
        {
            _alarmArmed = false;
            _interrupt = true;
            UpdateInterrupt();
        }
    }

    /// <summary>
    /// Saves the alarm, the interrupt state and the guest's offset from the host's wall clock: a
    /// restored RTC tells the time of day of the host it runs on, as a real clock would.
    /// </summary>
    public void Save(SnapshotWriter w)
    {
        w.WriteUInt64(_latchedHigh);
        w.WriteUInt64(_alarm);
        w.WriteUInt64(_timeOffset);
        w.WriteUInt32(_alarmHighPending);
        w.WriteBool(_irqEnabled);
        w.WriteBool(_alarmArmed);
        w.WriteBool(_interrupt);
    }

    public void Restore(SnapshotReader r)
    {
        (_latchedHigh, _alarm, _timeOffset, _alarmHighPending) = (r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt64(), r.ReadUInt32());
        (_irqEnabled, _alarmArmed, _interrupt) = (r.ReadBool(), r.ReadBool(), r.ReadBool());
        r.ExpectEnd();
        UpdateInterrupt();
    }

    public ulong Read(ulong offset, int size)
    {
        switch ((int)offset)
        {
            case TimeLow:
            {
                ulong now = Now;
                _latchedHigh = now >> 32;
                return (uint)now;
            }
            case TimeHigh: return _latchedHigh;
            case AlarmLow: return (uint)_alarm;
            case AlarmHigh: return _alarm >> 32;
            case IrqEnabled: return _irqEnabled ? 1u : 0;
            case AlarmStatus: return _alarmArmed ? 1u : 0;
            default: return 0;
        }
    }

    public void Write(ulong offset, int size, ulong value)
    {
        uint v = (uint)value;
        switch ((int)offset)
        {
            case TimeLow: _timeOffset = (((ulong)_latchedHigh << 32) | v) - _nanoseconds(); break;
            case TimeHigh: _latchedHigh = v; break;
            case AlarmHigh: _alarmHighPending = v; break;
            case AlarmLow:
                _alarm = ((ulong)_alarmHighPending << 32) | v;
                _alarmArmed = true;
                Poll();
                break;
            case IrqEnabled: _irqEnabled = (v & 1) != 0; UpdateInterrupt(); break;
            case ClearAlarm: _alarmArmed = false; break;
            case ClearInterrupt: _interrupt = false; UpdateInterrupt(); break;
        }
    }

    private void UpdateInterrupt() => _irq.Set(_interrupt && _irqEnabled);
}
