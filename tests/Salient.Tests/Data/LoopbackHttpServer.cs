using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Salient.Tests.Data;

/// <summary>
/// A minimal HTTP/1.1 file server on 127.0.0.1 (a free port), one connection at a time, for testing
/// downloads without the internet. It honours "Range: bytes=N-" and records every request. A test
/// can make it answer a request with a status instead, or cut the body after some bytes.
/// </summary>
public sealed class LoopbackHttpServer : IDisposable
{
    /// <summary>A request as received, and how many body bytes were sent back.</summary>
    public sealed record Request(string Path, string? Range)
    {
        public long BodyBytesSent { get; set; }
    }

    /// <summary>How to answer: a status without body, or the file (cut after <c>CutAfter</c> body bytes when set).</summary>
    public sealed record Reply(int? Status = null, long? CutAfter = null)
    {
        public static readonly Reply Serve = new();
    }

    private readonly TcpListener listener = new(IPAddress.Loopback, 0);
    private readonly Thread thread;
    private readonly List<Request> requests = [];

    public LoopbackHttpServer(IReadOnlyDictionary<string, byte[]> files)
    {
        Files = files;
        listener.Start();
        thread = new Thread(Serve) { IsBackground = true };
        thread.Start();
    }

    public IReadOnlyDictionary<string, byte[]> Files { get; }

    /// <summary>Chooses the reply to the n-th request (from 0) for a path; the default serves the file.</summary>
    public Func<int, Request, Reply> Answer { get; set; } = (_, _) => Reply.Serve;

    public string BaseUrl => $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}/files/";

    public IReadOnlyList<Request> Requests
    {
        get { lock (requests) return requests.ToList(); }
    }

    /// <summary>A loopback port nothing listens on: connecting to it is refused.</summary>
    public static int RefusingPort()
    {
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        int port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        return port;
    }

    private void Serve()
    {
        while (true)
        {
            TcpClient client;
            try
            {
                client = listener.AcceptTcpClient();
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }
            try
            {
                using (client) Handle(client.GetStream());
            }
            catch (IOException)
            {
                // The client went away mid-answer: fine for a test server.
            }
        }
    }

    private void Handle(NetworkStream stream)
    {
        var head = ReadHead(stream);
        var lines = head.Split("\r\n");
        var path = Uri.UnescapeDataString(lines[0].Split(' ')[1]);
        var range = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Range", StringComparison.OrdinalIgnoreCase))
            .Select(p => p[1].Trim()).FirstOrDefault();
        var request = new Request(path, range);
        int n;
        lock (requests)
        {
            n = requests.Count(r => r.Path == path);
            requests.Add(request);
        }
        var reply = Answer(n, request);
        var name = path.StartsWith("/files/") ? path["/files/".Length..] : null;
        if (reply.Status is { } status || name is null || !Files.TryGetValue(name, out var body))
        {
            WriteHead(stream, reply.Status ?? 404, reply.Status is null ? "Not Found" : "Test Status", 0, null);
            return;
        }
        long from = 0;
        if (range is not null && range.StartsWith("bytes=") && range.EndsWith('-') && long.TryParse(range[6..^1], out var start))
        {
            if (start >= body.Length)
            {
                WriteHead(stream, 416, "Range Not Satisfiable", 0, $"bytes */{body.Length}");
                return;
            }
            from = start;
        }
        long length = body.Length - from;
        WriteHead(stream, from > 0 ? 206 : 200, from > 0 ? "Partial Content" : "OK", length, from > 0 ? $"bytes {from}-{body.Length - 1}/{body.Length}" : null);
        long send = Math.Min(length, reply.CutAfter ?? long.MaxValue);
        stream.Write(body, (int)from, (int)send);
        request.BodyBytesSent = send;
        stream.Flush();
    }

    private static string ReadHead(NetworkStream stream)
    {
        var bytes = new List<byte>();
        while (bytes.Count < 4 || !(bytes[^4] == '\r' && bytes[^3] == '\n' && bytes[^2] == '\r' && bytes[^1] == '\n'))
        {
            int b = stream.ReadByte();
            if (b < 0) throw new IOException("request ended early");
            bytes.Add((byte)b);
        }
        return Encoding.ASCII.GetString(bytes.ToArray());
    }

    private static void WriteHead(NetworkStream stream, int status, string reason, long length, string? contentRange)
    {
        var head = new StringBuilder($"HTTP/1.1 {status} {reason}\r\nContent-Length: {length}\r\nContent-Type: application/zip\r\nAccept-Ranges: bytes\r\nConnection: close\r\n");
        if (contentRange is not null) head.Append($"Content-Range: {contentRange}\r\n");
        stream.Write(Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()));
    }

    public void Dispose()
    {
        listener.Stop();
        thread.Join(TimeSpan.FromSeconds(5));
    }
}
