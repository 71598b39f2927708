using Isomorph.Devices.Bus;
using Isomorph.Devices.Interrupts;
using Isomorph.Devices.State;

namespace Isomorph.Devices.Plic;

/// <summary>
/// The platform-level interrupt controller, in the register layout of SiFive's PLIC and QEMU's virt
/// board: source priorities at 0x0 (4 bytes per source), pending bits at 0x1000, per-context enable
/// bits at 0x2000 + 0x80 * context, and per-context threshold and claim/complete at
/// 0x200000 + 0x1000 * context (+0 and +4). Sources are level-triggered through a gateway: a source
/// becomes pending while its line is asserted, and not again until the claim is completed. Each
/// context drives one output line (on the virt board, context 2h is hart h's M-mode external
/// interrupt and 2h + 1 its S-mode one). Source 0 does not exist.
/// Not thread-safe: the machine drives it from its own thread.
/// </summary>
public sealed class Plic : IMmioDevice, ISnapshotState
{
    public const ulong WindowSize = 0x600000;
    public const ulong PendingBase = 0x1000, EnableBase = 0x2000, EnableStride = 0x80;
    public const ulong ContextBase = 0x200000, ContextStride = 0x1000;
    public const uint MaxPriority = 7;

    private readonly int _sources;
    private readonly uint[] _priority;
    private readonly bool[] _level, _pending, _claimed;
    private readonly uint[][] _enable;
    private readonly uint[] _threshold;
    private readonly IInterruptLine[] _outputs;
    private readonly bool[] _outputState;
    private readonly IInterruptLine[] _inputs;

    /// <param name="sources">The number of interrupt sources (1..sources; QEMU virt has 95).</param>
    /// <param name="outputs">One output line per context.</param>
    public Plic(int sources, IReadOnlyList<IInterruptLine> outputs)
    {
        if (sources < 1 || sources > 1023) throw new ArgumentOutOfRangeException(nameof(sources));
        _sources = sources;
        _priority = new uint[sources + 1];
        _level = new bool[sources + 1];
        _pending = new bool[sources + 1];
        _claimed = new bool[sources + 1];
        int words = (sources + 32) / 32;
        _outputs = [.. outputs];
        _enable = new uint[_outputs.Length][];
        for (int c = 0; c < _enable.Length; c++) _enable[c] = new uint[words];
        _threshold = new uint[_outputs.Length];
        _outputState = new bool[_outputs.Length];
        _inputs = new IInterruptLine[sources + 1];
        for (int s = 1; s <= sources; s++)
        {
            int source = s;
            _inputs[s] = InterruptLine.From(level => SetLevel(source, level));
        }
    }

    public string Name => "plic";
    public ulong Size => WindowSize;
    public int Sources => _sources;
    public int Contexts => _outputs.Length;

    /// <summary>The input line of source <paramref name="source"/> (1-based), for a device to drive.</summary>
    public IInterruptLine Input(int source) =>
        source >= 1 && source <= _sources ? _inputs[source] : throw new ArgumentOutOfRangeException(nameof(source));

    private void SetLevel(int source, bool level)
    {
        _level[source] = level;
        if (level && !_claimed[source]) _pending[source] = true;
        else if (!level) _pending[source] = false; // level-triggered: a withdrawn request is no longer pending
        UpdateOutputs();
    }

    /// <summary>Saves priorities, the gateways (line level, pending, claimed), enables, thresholds and the output lines.</summary>
    public void Save(SnapshotWriter w)
    {
        w.WriteUInt32s(_priority);
        w.WriteBools(_level);
        w.WriteBools(_pending);
        w.WriteBools(_claimed);
        w.WriteInt32(_enable.Length);
        foreach (var words in _enable) w.WriteUInt32s(words);
        w.WriteUInt32s(_threshold);
        w.WriteBools(_outputState);
    }

    /// <summary>Restores a PLIC with the same sources and contexts and drives the output lines as saved.</summary>
    public void Restore(SnapshotReader r)
    {
        r.ReadUInt32s(_priority, "source priorities");
        r.ReadBools(_level, "source levels");
        r.ReadBools(_pending, "pending bits");
        r.ReadBools(_claimed, "claimed bits");
        r.ExpectCount(_enable.Length, "contexts");
        foreach (var words in _enable) r.ReadUInt32s(words, "enable words");
        r.ReadUInt32s(_threshold, "thresholds");
        r.ReadBools(_outputState, "output lines");
        r.ExpectEnd();
        for (int s = 0; s <= _sources; s++) _priority[s] &= MaxPriority;
        for (int c = 0; c < _threshold.Length; c++) _threshold[c] &= MaxPriority;
        for (int c = 0; c < _outputs.Length; c++) _outputs[c].Set(_outputState[c]);
    }

    public ulong Read(ulong offset, int size)
    {
        if (size == 8) return Read32(offset) | (ulong)Read32(offset + 4) << 32;
        uint word = Read32(offset & ~3ul);
        return size == 4 ? word : (word >> (int)(8 * (offset & 3))) & ((1u << (8 * size)) - 1);
    }

    public void Write(ulong offset, int size, ulong value)
    {
        if (size == 8)
        {
            Write32(offset, (uint)value);
            Write32(offset + 4, (uint)(value >> 32));
        }
        else if (size == 4) Write32(offset, (uint)value);
        // Narrower writes are not defined for the PLIC; ignore them.
    }

    private uint Read32(ulong offset)
    {
        if (offset < PendingBase)
        {
            int s = (int)(offset / 4);
            return s >= 1 && s <= _sources ? _priority[s] : 0;
        }
        if (offset < EnableBase)
        {
            int first = (int)((offset - PendingBase) / 4) * 32;
            uint bits = 0;
            for (int b = 0; b < 32; b++)
                if (first + b is int s && s >= 1 && s <= _sources && _pending[s]) bits |= 1u << b;
            return bits;
        }
        if (offset < ContextBase)
        {
            ulong c = (offset - EnableBase) / EnableStride;
            int word = (int)((offset - EnableBase) % EnableStride / 4);
            return c < (ulong)_enable.Length && word < _enable[c].Length ? _enable[c][word] : 0;
        }
        ulong context = (offset - ContextBase) / ContextStride;
        if (context >= (ulong)_outputs.Length) return 0;
        return ((offset - ContextBase) % ContextStride) switch
        {
            0 => _threshold[context],
            4 => Claim((int)context),
            _ => 0,
        };
    }

    private void Write32(ulong offset, uint value)
    {
        if (offset < PendingBase)
        {
            int s = (int)(offset / 4);
            if (s >= 1 && s <= _sources) _priority[s] = value & MaxPriority;
        }
        else if (offset < EnableBase) return; // pending bits are read-only
        else if (offset < ContextBase)
        {
            ulong c = (offset - EnableBase) / EnableStride;
            int word = (int)((offset - EnableBase) % EnableStride / 4);
            if (c >= (ulong)_enable.Length || word >= _enable[c].Length) return;
            if (word == 0) value &= ~1u; // source 0 does not exist
            if (word == _enable[c].Length - 1 && (_sources + 1) % 32 != 0) value &= (1u << ((_sources + 1) % 32)) - 1;
            _enable[c][word] = value;
        }
        else
        {
            ulong context = (offset - ContextBase) / ContextStride;
            if (context >= (ulong)_outputs.Length) return;
            switch ((offset - ContextBase) % ContextStride)
            {
                case 0: _threshold[context] = value & MaxPriority; break;
                case 4: Complete((int)context, (int)value); return;
                default: return;
            }
        }
        UpdateOutputs();
    }

    private bool Enabled(int context, int source) => ((_enable[context][source / 32] >> (source % 32)) & 1) != 0;

    /// <summary>The pending, enabled source of highest priority above the threshold (lowest id on ties), or 0.</summary>
    private int Best(int context)
    {
        int best = 0;
        uint bestPriority = _threshold[context];
        for (int s = 1; s <= _sources; s++)
            if (_pending[s] && _priority[s] > bestPriority && Enabled(context, s))
            {
                best = s;
                bestPriority = _priority[s];
            }
        return best;
    }

    private uint Claim(int context)
    {
        int s = Best(context);
        if (s != 0)
        {
            _pending[s] = false;
            _claimed[s] = true;
        }
        UpdateOutputs();
        return (uint)s;
    }

    private void Complete(int context, int source)
    {
        if (source < 1 || source > _sources || !Enabled(context, source)) return;
        _claimed[source] = false;
        if (_level[source]) _pending[source] = true;
        UpdateOutputs();
    }

    private void UpdateOutputs()
    {
        for (int c = 0; c < _outputs.Length; c++)
        {
            bool asserted = Best(c) != 0;
            if (asserted == _outputState[c]) continue;
            _outputState[c] = asserted;
            _outputs[c].Set(asserted);
        }
    }
}
