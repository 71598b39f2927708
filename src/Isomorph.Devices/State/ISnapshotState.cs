namespace Isomorph.Devices.State;

/// <summary>
/// The one persistence contract of a machine's components (a hart, a device, a virtio transport):
/// <see cref="Save"/> writes the component's guest-visible state, <see cref="Restore"/> reads what
/// Save wrote into a freshly built component of the same configuration. Caches (TLBs, decoded code)
/// are not state. Both are called only while the machine is not executing.
/// </summary>
public interface ISnapshotState
{
    void Save(SnapshotWriter writer);

    /// <summary>Throws <see cref="SnapshotException"/> when the saved state does not fit this component.</summary>
    void Restore(SnapshotReader reader);
}

/// <summary>A snapshot cannot be written or read: one line for the user, without the file name.</summary>
public sealed class SnapshotException(string message) : Exception(OneLine(message))
{
    /// <summary>
    /// <paramref name="text"/> on one line: control characters (a newline in a path that a damaged
    /// snapshot or a user named) written as C escapes.
    /// </summary>
    public static string OneLine(string text)
    {
        if (!text.Any(char.IsControl)) return text;
        var b = new System.Text.StringBuilder(text.Length + 8);
        foreach (char c in text)
            b.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return b.ToString();
    }
}
