namespace Salient.Tests.Data;

/// <summary>Sets an environment variable until disposed, then restores its old value (tests run one at a time).</summary>
public sealed class ScopedEnvironment : IDisposable
{
    private readonly string name;
    private readonly string? previous;

    public ScopedEnvironment(string name, string? value)
    {
        this.name = name;
        previous = Environment.GetEnvironmentVariable(name);
        Environment.SetEnvironmentVariable(name, value);
    }

    public void Dispose() => Environment.SetEnvironmentVariable(name, previous);
}
