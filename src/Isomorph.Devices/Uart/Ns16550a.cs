using Isomorph.Devices.Bus;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Uart;

/// <summary>
/// An NS16550A UART with byte-wide registers (reg-shift 0), as on QEMU's virt board. Transmission is
/// instantaneous: every byte written to THR goes straight to <see cref="Output"/>, so the transmitter
/// is always empty. Received bytes queue in a FIFO (<see cref="Receive"/>). Interrupts: received data
/// available and transmitter-holding-register empty, with the 16550's rule that reading IIR while it
/// reports THRE clears that interrupt until the next THR write or IER enable.
/// Not thread-safe: the machine drives it from its own thread.
/// </summary>
public sealed class Ns16550a : IMmioDevice, ISnapshotState
{
    public const ulong WindowSize = 0x100;

    // Register offsets (DLAB = 0 unless noted).
    private const int Rbr = 0, Thr = 0, Dll = 0, Ier = 1, Dlm = 1, Iir = 2, Fcr = 2, Lcr = 3, Mcr = 4, Lsr = 5, Msr = 6, Scr = 7;

    private const byte IerRxAvailable = 0x01, IerThrEmpty = 0x02;
    private const byte IirNone = 0x01, IirThrEmpty = 0x02, IirRxAvailable = 0x04, IirFifoEnabled = 0xC0;
    private const byte LsrDataReady = 0x01, LsrThrEmpty = 0x20, LsrTransmitterEmpty = 0x40;
    private const byte LcrDlab = 0x80, McrLoopback = 0x10;
    private const int FifoCapacity = 4096;

    private readonly Queue<byte> _rx = new();
    private readonly IInterruptLine _irq;
    private byte _ier, _lcr, _mcr, _scr, _fcr, _dll = 0x0C, _dlm;
    private bool _thrInterrupt;
    private bool _asserted;

    /// <summary>Receives every byte the guest transmits.</summary>
    public Action<byte> Output { get; set; } = _ => { };

    public Ns16550a(IInterruptLine? irq = null) => _irq = irq ?? InterruptLine.None;

    public string Name => "uart";
    public ulong Size => WindowSize;

    /// <summary>True when the receive FIFO has room for more input.</summary>
    public bool CanReceive => _rx.Count < FifoCapacity;

    /// <summary>Queues bytes from the host as if they arrived on the serial line.</summary>
    public void Receive(ReadOnlySpan<byte> bytes)
    {
        foreach (byte b in bytes)
            if (_rx.Count < FifoCapacity) _rx.Enqueue(b);
        UpdateInterrupt();
    }

    /// <summary>Saves the registers, the receive FIFO and the interrupt state.</summary>
    public void Save(SnapshotWriter w)
    {
        foreach (byte b in (ReadOnlySpan<byte>)[_ier, _lcr, _mcr, _scr, _fcr, _dll, _dlm]) w.WriteByte(b);
        w.WriteBool(_thrInterrupt);
        w.WriteBool(_asserted);
        w.WriteBytes(_rx.ToArray());
    }

    public void Restore(SnapshotReader r)
    {
        (_ier, _lcr, _mcr, _scr, _fcr, _dll, _dlm) = (r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte(), r.ReadByte());
        _thrInterrupt = r.ReadBool();
        _asserted = r.ReadBool();
        var rx = r.ReadBytes(FifoCapacity);
        r.ExpectEnd();
        _rx.Clear();
        foreach (byte b in rx) _rx.Enqueue(b);
        _irq.Set(_asserted);
    }

    public ulong Read(ulong offset, int size)
    {
        ulong value = 0;
        for (int i = 0; i < size; i++) value |= (ulong)ReadRegister((int)offset + i) << (8 * i);
        return value;
    }

    public void Write(ulong offset, int size, ulong value)
    {
        for (int i = 0; i < size; i++) WriteRegister((int)offset + i, (byte)(value >> (8 * i)));
    }

    private byte ReadRegister(int reg)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (reg)
        {
            case Rbr when dlab: return _dll;
            case Rbr:
            {
                byte b = _rx.Count > 0 ? _rx.Dequeue() : (byte)0;
                UpdateInterrupt();
                return b;
            }
            case Ier when dlab: return _dlm;
            case Ier: return _ier;
            case Iir:
            {
                byte iir = Identify();
                if (iir == IirThrEmpty)
                {
                    _thrInterrupt = false;
                    UpdateInterrupt();
                }
                return (byte)(iir | ((_fcr & 1) != 0 ? IirFifoEnabled : 0));
            }
            case Lcr: return _lcr;
            case Mcr: return _mcr;
            case Lsr: return (byte)(LsrThrEmpty | LsrTransmitterEmpty | (_rx.Count > 0 ? LsrDataReady : 0));
            case Msr:
                if ((_mcr & McrLoopback) != 0)
                {
                    // Loopback: RTS -> CTS, DTR -> DSR, OUT1 -> RI, OUT2 -> DCD.
                    int m = _mcr;
                    return (byte)(((m & 2) << 3) | ((m & 1) << 5) | ((m & 4) << 4) | ((m & 8) << 4));
                }
                return 0xB0; // DCD, DSR, CTS: a cable with someone at the other end
            case Scr: return _scr;
            default: return 0;
        }
    }

    private void WriteRegister(int reg, byte value)
    {
        bool dlab = (_lcr & LcrDlab) != 0;
        switch (reg)
        {
            case Dll when dlab: _dll = value; break;
            case Thr:
                if ((_mcr & McrLoopback) != 0) Receive([value]);
                else Output(value);
                _thrInterrupt = true; // the byte left at once: the holding register is empty again
                UpdateInterrupt();
                break;
            case Dlm when dlab: _dlm = value; break;
            case Ier:
            {
                bool enablingThre = (value & IerThrEmpty) != 0 && (_ier & IerThrEmpty) == 0;
                _ier = (byte)(value & 0x0F);
                if (enablingThre) _thrInterrupt = true;
                UpdateInterrupt();
                break;
            }
            case Fcr:
                _fcr = (byte)(value & 0xC9);
                if ((value & 2) != 0) _rx.Clear();
                UpdateInterrupt();
                break;
            case Lcr: _lcr = value; break;
            case Mcr: _mcr = (byte)(value & 0x1F); break;
            case Scr: _scr = value; break;
        }
    }

    /// <summary>The highest-priority pending interrupt, as IIR bits 3:0.</summary>
    private byte Identify()
    {
        if ((_ier & IerRxAvailable) != 0 && _rx.Count > 0) return IirRxAvailable;
        if ((_ier & IerThrEmpty) != 0 && _thrInterrupt) return IirThrEmpty;
        return IirNone;
    }

    private void UpdateInterrupt()
    {
        bool asserted = Identify() != IirNone;
        if (asserted == _asserted) return;
        _asserted = asserted;
        _irq.Set(asserted);
    }
}
