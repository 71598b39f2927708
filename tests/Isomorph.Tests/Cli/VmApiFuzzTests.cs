using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using CsCheck;
using Isomorph.Tests.Support;

namespace Isomorph.Tests.Cli;

/// <summary>
/// The machine's REST API under generated requests (CsCheck): any method on known and unknown
/// paths, with snapshot requests whose "path" is every kind of wrong (relative, a NUL, a FIFO, a
/// directory, a missing directory, a number, an array, huge) and bodies of random bytes. Every
/// answer is a JSON body with a 2xx or 4xx status (a 5xx would be an exception the server did not
/// expect), and the server still answers afterwards. Generated snapshot targets stay inside the
/// test's own directory. ISOMORPH_FUZZ_ITERATIONS and ISOMORPH_FUZZ_SEED as for every fuzz test.
/// </summary>
public sealed class VmApiFuzzTests() : CliTest("isomorph-api-fuzz")
{
    [Fact]
    public void GeneratedRequests_AreAnsweredWithJson_NeverAServerError()
    {
        var kernel = TempFile("spin.bin", [0x6f, 0, 0, 0]); // jal x0, 0: runs until told to stop
        string api = Path.Combine(Temp.FullName, "api.sock");
        string fifo = Path.Combine(Temp.FullName, "fifo");
        Assert.Equal(0, Repository.Run("mkfifo", [fifo], TimeSpan.FromSeconds(10)).ExitCode);
        using var vm = new IsomorphProcess("boot", "--firmware", "none", "--kernel", kernel, "--serial", "none", "--api-sock", api);
        vm.Connect(api, TimeSpan.FromSeconds(60)).Dispose();

        var inside = Gen.String[Gen.Char["abcxyz._-"], 1, 12].Select(s => Path.Combine(Temp.FullName, s));
        var pathValue = Gen.OneOf(
            inside.Select(p => (object?)p),                                                  // a new or replaced file here
            inside.Select(p => (object?)Path.Combine(p, "missing", "x.snap")),               // a directory that is not there
            Gen.Const((object?)fifo), Gen.Const((object?)Temp.FullName),                     // a FIFO, a directory
            Gen.String[Gen.Char.AlphaNumeric, 0, 20].Select(s => (object?)("rel" + s)),       // relative
            inside.Select(p => (object?)(p + "\0.snap")),                                    // a NUL
            Gen.Int.Select(i => (object?)i), Gen.Bool.Select(b => (object?)b), Gen.Const((object?)null),
            Gen.Int.Array[0, 4].Select(a => (object?)a),
            Gen.Int[1, 100_000].Select(n => (object?)(Temp.FullName + "/" + new string('a', n))));
        var jsonBody = Gen.Select(pathValue, Gen.Bool, (value, named) =>
            named ? JsonSerializer.Serialize(new Dictionary<string, object?> { ["path"] = value }) : JsonSerializer.Serialize(value));
        // Migrations to where nothing listens (a refused connection: the VM runs on), or to no valid address.
        var destination = Gen.OneOf(
            Pick("127.0.0.1:1", "[::1]:1", "localhost:1", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1", ":80", "", "127.0.0.1:-5"),
            Gen.String[Gen.Char["az:.[]0-"], 0, 20]).Select(s => (object?)s);
        var migrationBody = Gen.Select(Gen.OneOf(destination, pathValue), Gen.Double.Select(d => (object?)d), Gen.Int.Select(i => (object?)i),
            (to, downtime, timeout) => JsonSerializer.Serialize(new Dictionary<string, object?> { ["to"] = to, ["maxDowntimeMs"] = downtime, ["timeoutMs"] = timeout },
                new JsonSerializerOptions { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        var body = Gen.OneOf(
            jsonBody.Select(s => Encoding.UTF8.GetBytes(s)),
            migrationBody.Select(s => Encoding.UTF8.GetBytes(s)),
            Gen.Byte.Array[0, 512],
            Gen.Const(Array.Empty<byte>()));
        var target = Gen.OneOf(
            Pick("/machine", "/machine/stats", "/machine/pause", "/machine/resume", "/machine/snapshot", "/machine/migrate", "/machine/migration", "/", "/machine/"),
            Gen.String[Gen.Char["abz/%._-0"], 0, 30].Select(s => "/machine/" + s));
        var request = Gen.Select(Pick("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"), target, body,
            Pick("application/json", "text/plain", "application/octet-stream"));

        Fuzz.Check(request, r =>
        {
            int status;
            string json;
            try
            {
                (status, json) = Http(api, r.Item1, r.Item2, r.Item3, r.Item4);
            }
            catch (SocketException) when (r.Item3.Length > 65536)
            {
                return; // refused mid-body: the server may close before the client has sent it all (HTTP allows it)
            }
            Assert.True(status is >= 200 and < 500, $"{r.Item1} {r.Item2}: status {status}: {json}");
            using var parsed = JsonDocument.Parse(json); // every answer, errors included, is JSON
        }, defaultIterations: 150, describe: r => $"{r.Item1} {r.Item2} ({r.Item4}) body[{r.Item3.Length}] {Encoding.UTF8.GetString(r.Item3[..Math.Min(200, r.Item3.Length)])}");

        // Still serving, and still the machine it was.
        var (after, info) = Http(api, "GET", "/machine", [], "application/json");
        Assert.Equal(200, after);
        Assert.Contains("\"harts\"", info);
        Assert.Equal("fifo", Repository.Run("stat", ["-c", "%F", fifo], TimeSpan.FromSeconds(10)).Stdout.Trim());
        vm.Terminate();
        Assert.Equal(143, vm.WaitForExit(TimeSpan.FromSeconds(30)));
    }

    private static Gen<string> Pick(params string[] choices) => Gen.Int[0, choices.Length - 1].Select(i => choices[i]);

    /// <summary>A raw HTTP/1.1 request over the socket: the status and the body as text (chunks joined).</summary>
    private static (int Status, string Body) Http(string socketPath, string method, string path, byte[] body, string contentType)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Connect(new UnixDomainSocketEndPoint(socketPath));
        var head = Encoding.ASCII.GetBytes($"{method} {Uri.EscapeDataString(path).Replace("%2F", "/")} HTTP/1.1\r\nHost: isomorph\r\n" +
            $"Content-Type: {contentType}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n");
        socket.Send([.. head, .. body]);
        var response = new MemoryStream();
        var buffer = new byte[65536];
        int n;
        while ((n = socket.Receive(buffer)) > 0) response.Write(buffer, 0, n);
        string text = Encoding.UTF8.GetString(response.ToArray());
        int status = int.Parse(text.Split(' ')[1]);
        Assert.Contains("Content-Type: application/json", text, StringComparison.OrdinalIgnoreCase);
        string answer = text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        if (text.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase))
            answer = string.Concat(answer.Split("\r\n").Where((_, i) => i % 2 == 1));
        return (status, answer);
    }
}
