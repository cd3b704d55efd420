namespace Salient;

/// <summary>
/// Reports on the caller's thread, in order. System.Progress posts to the thread pool, so a
/// progress bar could see reports late or out of order.
/// </summary>
public sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
