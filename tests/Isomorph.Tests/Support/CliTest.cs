namespace Isomorph.Tests.Support;

/// <summary>
/// What tests of the <c>isomorph</c> command share: a temporary directory of their own, files in
/// it, and the check that bad input gives one line on stderr, nothing on stdout and status 2.
/// </summary>
public abstract class CliTest(string name) : IDisposable
{
    protected DirectoryInfo Temp { get; } = Directory.CreateTempSubdirectory(name);

    public void Dispose()
    {
        Temp.Delete(recursive: true);
        GC.SuppressFinalize(this);
    }

    protected string TempFile(string fileName, byte[] contents)
    {
        var path = Path.Combine(Temp.FullName, fileName);
        File.WriteAllBytes(path, contents);
        return path;
    }

    protected static void AssertBadInput(Repository.ProcessResult r, string expectedFragment)
    {
        Assert.Equal(2, r.ExitCode);
        Assert.Equal("", r.Stdout);
        var lines = r.Stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, "expected one line on stderr, got:\n" + r.Stderr);
        Assert.Contains(expectedFragment, lines[0]);
    }
}
