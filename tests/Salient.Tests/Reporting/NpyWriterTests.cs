using System.Text;
using System.Text.RegularExpressions;
using Salient.Reporting;
using static TorchSharp.torch;

namespace Salient.Tests.Reporting;

public class NpyWriterTests
{
    /// <summary>An independent reader that follows the .npy 1.0 layout byte by byte.</summary>
    private static (long[] Shape, float[] Values, int HeaderEnd) Read(byte[] file)
    {
        Assert.Equal([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0], file[..8]);
        int headerLength = file[8] | file[9] << 8;
        var header = Encoding.ASCII.GetString(file, 10, headerLength);
        Assert.EndsWith("\n", header);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var shapeText = Regex.Match(header, @"'shape': \(([^)]*)\)").Groups[1].Value;
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        int start = 10 + headerLength;
        var values = new float[(file.Length - start) / 4];
        for (int i = 0; i < values.Length; i++) values[i] = BitConverter.ToSingle(file, start + 4 * i);
        return (shape, values, start);
    }

    [Fact]
    public void AMapRoundTripsThroughTheFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"salient-npy-{Guid.NewGuid():N}.npy");
        try
        {
            var maps = arange(24, float32).view(2, 3, 4) / 7 - 1;
            NpyWriter.Write(path, maps);
            var (shape, values, headerEnd) = Read(File.ReadAllBytes(path));
            Assert.Equal([2L, 3, 4], shape);
            Assert.Equal(maps.data<float>().ToArray(), values);
            Assert.Equal(0, headerEnd % 64);
            Assert.False(File.Exists(path + ".tmp"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AOneDimensionalShapeIsAPythonTuple()
    {
        using var stream = new MemoryStream();
        NpyWriter.Write(stream, [3], [1f, 2f, 3f]);
        var file = stream.ToArray();
        Assert.Contains("'shape': (3,)", Encoding.ASCII.GetString(file, 10, file[8] | file[9] << 8));
        Assert.Equal([1f, 2f, 3f], Read(file).Values);
    }

    [Fact]
    public void AnUnwritableFolderIsAClearError()
    {
        // A folder that cannot exist: its parent is a file.
        var file = Path.GetTempFileName();
        var path = Path.Combine(file, "map.npy");
        var error = Assert.Throws<SalientException>(() => NpyWriter.Write(path, zeros(2, 2)));
        Assert.Contains(path, error.Message);
        File.Delete(file);
    }
}
