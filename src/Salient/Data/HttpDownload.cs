using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace Salient.Data;

/// <summary>What a long data step has done so far: bytes downloaded, checked or unpacked, of a total when known.</summary>
public sealed record DataProgress(string Step, long Bytes, long? TotalBytes);

/// <summary>
/// Downloads one file over HTTP(S) into <c>FILE.part</c>, resuming a partial file with a Range
/// request (in the same run when the transfer breaks after making progress, or in the next run),
/// then checks its MD5 and renames it to FILE. A file that fails its check is deleted.
/// </summary>
public static class HttpDownload
{
    /// <summary>A transfer that delivers nothing for this long is broken (and resumed if it had made progress).</summary>
    public static readonly TimeSpan StallTimeout = TimeSpan.FromSeconds(60);

    public static HttpClient CreateClient()
    {
        // No automatic decompression: byte ranges must count the bytes of the file itself.
        var client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(30), AutomaticDecompression = DecompressionMethods.None })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        client.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Salient", "1.0"));
        return client;
    }

    /// <summary>
    /// Fetches <paramref name="url"/> into <paramref name="destination"/> unless a file with the right
    /// MD5 is already there. <paramref name="remedy"/> ends every error message after "or": what else the user can do.
    /// </summary>
    public static void Fetch(HttpClient client, Uri url, string destination, string expectedMd5, string remedy, IProgress<DataProgress>? progress)
    {
        var name = Path.GetFileName(destination);
        if (File.Exists(destination))
        {
            if (Md5.Of(destination, $"checking {name}", progress) == expectedMd5) return;
            File.Delete(destination);
        }
        var part = destination + ".part";
        long longest = -1;
        while (true)
        {
            long had = File.Exists(part) ? new FileInfo(part).Length : 0;
            var broken = Attempt(client, url, part, had, name, remedy, progress);
            if (broken is null) break;
            long now = File.Exists(part) ? new FileInfo(part).Length : 0;
            // Resume at once while each attempt gets further; an attempt that gains nothing ends the run.
            if (now <= Math.Max(had, longest))
                throw new SalientException($"The download of {name} from {url} broke off at {Megabytes(now)} ({broken.Message.TrimEnd('.')}); run the same command again to resume it, or {remedy}.", broken);
            longest = now;
        }
        var actual = Md5.Of(part, $"checking {name}", progress);
        if (actual != expectedMd5)
        {
            File.Delete(part);
            throw new SalientException($"{name} downloaded from {url} has MD5 {actual} but {expectedMd5} was expected, so it was deleted; run the same command again to download it afresh, or, if the mismatch repeats, {remedy}.");
        }
        File.Move(part, destination, overwrite: true);
    }

    /// <summary>One request: null when the part file is complete, else the exception that broke the transfer.</summary>
    private static Exception? Attempt(HttpClient client, Uri url, string part, long had, string name, string remedy, IProgress<DataProgress>? progress)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (had > 0) request.Headers.Range = new RangeHeaderValue(had, null);
        HttpResponseMessage response;
        try
        {
            response = client.Send(request, HttpCompletionOption.ResponseHeadersRead);
        }
        catch (HttpRequestException e)
        {
            var reason = e.InnerException is SocketException s ? s.Message : e.Message;
            throw new SalientException($"Cannot reach {url.Host}:{url.Port} to download {name} ({reason.TrimEnd('.')}); check the network connection and proxy settings, or {remedy}.", e);
        }
        using (response)
        {
            long start = 0;
            long? total = response.Content.Headers.ContentLength;
            var range = response.Content.Headers.ContentRange;
            switch (response.StatusCode)
            {
                case HttpStatusCode.PartialContent when had > 0 && range?.From == had:
                    start = had;
                    total = range.Length ?? (total + had);
                    break;
                case HttpStatusCode.OK: // the whole file (a server that ignores ranges sends it from the start)
                    break;
                case HttpStatusCode.RequestedRangeNotSatisfiable when had > 0 && range?.Length == had:
                    return null; // the part already holds the whole file: a run stopped before checking it
                case HttpStatusCode.PartialContent or HttpStatusCode.RequestedRangeNotSatisfiable when had > 0:
                    // Another range than asked for, or a part longer than the file: it cannot be continued.
                    File.Delete(part);
                    return Attempt(client, url, part, 0, name, remedy, progress);
                case HttpStatusCode.NotFound:
                    throw new SalientException($"{url} answered 404 Not Found: {name} is not there; check the download address, or {remedy}.");
                default:
                    throw new SalientException($"{url} answered {(int)response.StatusCode} {response.ReasonPhrase}; try again later (the download resumes where it stopped), or {remedy}.");
            }
            try
            {
                using var body = response.Content.ReadAsStream();
                using var file = new FileStream(part, start > 0 ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
                var buffer = new byte[1 << 16];
                long done = start;
                progress?.Report(new DataProgress($"downloading {name}", done, total));
                while (true)
                {
                    int read;
                    using (var stall = new CancellationTokenSource(StallTimeout))
                        read = body.ReadAsync(buffer, stall.Token).AsTask().GetAwaiter().GetResult();
                    if (read == 0) break;
                    file.Write(buffer, 0, read);
                    done += read;
                    progress?.Report(new DataProgress($"downloading {name}", done, total));
                }
                if (total is { } expected && done != expected)
                    return new IOException($"the server sent {done} of {expected} bytes");
                return null;
            }
            catch (Exception e) when (e is IOException or HttpRequestException or OperationCanceledException)
            {
                return e is OperationCanceledException ? new IOException($"nothing arrived for {StallTimeout.TotalSeconds:F0} s", e) : e;
            }
        }
    }

    private static string Megabytes(long bytes) => $"{bytes / 1e6:F1} MB";
}

/// <summary>MD5 checksums of files, the form data sets publish theirs in.</summary>
public static class Md5
{
    public static string Of(string path, string step, IProgress<DataProgress>? progress)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
        var buffer = new byte[1 << 20];
        long done = 0;
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            md5.AppendData(buffer, 0, read);
            done += read;
            progress?.Report(new DataProgress(step, done, stream.Length));
        }
        return Convert.ToHexStringLower(md5.GetHashAndReset());
    }
}
