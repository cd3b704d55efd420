using static TorchSharp.torch;

namespace Salient.Tests;

public class NativeRuntimeTests
{
    [Fact]
    public void TensorOperationRunsAfterBuild()
    {
        // Fails with a type-initialiser error if the build did not mark GLIBCXX_3.4.32 weak.
        using var a = arange(6, dtype: ScalarType.Float32).reshape(2, 3);
        using var b = a.matmul(a.t());
        Assert.Equal(new float[] { 5, 14, 14, 50 }, b.data<float>().ToArray());
    }
}
