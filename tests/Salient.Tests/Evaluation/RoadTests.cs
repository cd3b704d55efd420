using Salient.Evaluation;
using TorchSharp;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class RoadTests
{
    /// <summary>Says class 1 when the top-left quadrant is bright on average, class 0 otherwise.</summary>
    private sealed class QuadrantBrightness : nn.Module<Tensor, Tensor>
    {
        public QuadrantBrightness() : base(nameof(QuadrantBrightness)) { }
        public override Tensor forward(Tensor pixels)
        {
            using var scope = NewDisposeScope();
            long half = pixels.shape[2] / 2;
            var brightness = pixels.narrow(2, 0, half).narrow(3, 0, half).mean([1, 2, 3]);
            return stack([0.5 - brightness, brightness - 0.5], 1).MoveToOuterDisposeScope();
        }
    }

    private static (Tensor Images, Tensor Labels, Tensor Maps) QuadrantProblem()
    {
        // Images 0, 1, 4: white top-left quadrant (class 1); 2, 3: black (class 0). Image 4 is labelled 0,
        // so the model gets it wrong and ROAD must skip it. Maps mark the quadrant (black images: random).
        var images = zeros(5, 3, 16, 16);
        var maps = rand(5, 16, 16) * 0.5;
        foreach (int i in new[] { 0, 1, 4 })
        {
            images[i, .., ..8, ..8] = tensor(1f);
            maps[i] = zeros(16, 16);
            maps[i, ..8, ..8] = tensor(1f);
        }
        return (images, tensor(new long[] { 1, 1, 0, 0, 0 }), maps);
    }

    [Fact]
    public void RemovingTheRelevantQuadrantFlipsTheClassWhileKeepingItDoesNot()
    {
        random.manual_seed(2);
        var (images, labels, maps) = QuadrantProblem();
        var model = new QuadrantBrightness();
        model.train();
        // 25% of 256 pixels is exactly the quadrant. MoRF fills it from black surroundings (→ class 0);
        // LeRF keeps it and fills everything else from it (→ still class 1). Black images stay black.
        var result = Road.Evaluate(model, images, labels, maps, new RoadOptions { Percentages = [25, 75], Seed = 3, ImagesPerRound = 3, ClassifyBatchSize = 4 });

        Assert.Equal(5, result.TotalImages);
        Assert.Equal([0, 1, 2, 3], result.EvaluatedImageIndices);
        Assert.Equal([0.5, 0.5], result.MorfAccuracy);
        Assert.Equal([1.0, 1.0], result.LerfAccuracy);
        Assert.Equal(0.5, result.MorfArea);
        Assert.Equal(1.0, result.LerfArea);
        Assert.False(result.MorfCorrect[0, 0]);
        Assert.False(result.MorfCorrect[1, 1]);
        Assert.True(result.MorfCorrect[2, 0]);
        Assert.True(result.LerfCorrect[1, 0]);
        Assert.True(model.training);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(100.0)]
    [InlineData(-5.0)]
    [InlineData(150.0)]
    [InlineData(double.NaN)]
    public void PercentagesOutsideTheOpenIntervalAreRejected(double percentage)
    {
        var (images, labels, maps) = QuadrantProblem();
        var error = Assert.Throws<SalientException>(() =>
            Road.Evaluate(new QuadrantBrightness(), images, labels, maps, new RoadOptions { Percentages = [10, percentage] }));
        Assert.Contains("strictly between 0 and 100", error.Message);
    }

    [Fact]
    public void MapsOfAnotherShapeAreRejected()
    {
        var (images, labels, _) = QuadrantProblem();
        using var wrong = rand(5, 16, 15);
        using var withChannels = rand(5, 3, 16, 16);
        var error = Assert.Throws<SalientException>(() => Road.Evaluate(new QuadrantBrightness(), images, labels, wrong));
        Assert.Contains("one H×W map per image", error.Message);
        Assert.Throws<SalientException>(() => Road.Evaluate(new QuadrantBrightness(), images, labels, withChannels));
        Assert.Throws<SalientException>(() => Road.Evaluate(new QuadrantBrightness(), images, labels.narrow(0, 0, 4), rand(5, 16, 16)));
    }

    [Fact]
    public void MorfRemovesTheTopPixelsAndLerfTheRest()
    {
        // Distinct values 0…63: MoRF at p removes exactly the ⌊64p/100⌋ largest; LeRF removes the complement.
        using var map = arange(64, dtype: ScalarType.Float32).reshape(1, 8, 8);
        double[] percentages = [10, 50, 90];
        using var morf = Road.RemovalMasks(map, percentages, RemovalOrder.MoRF);
        using var lerf = Road.RemovalMasks(map, percentages, RemovalOrder.LeRF);
        int[] counts = [6, 32, 57];
        for (int p = 0; p < 3; p++)
        {
            using var expected = (map[0] >= 64 - counts[p]);
            Assert.True(morf[0, p].eq(expected).all().item<bool>());
            Assert.True(lerf[0, p].eq(expected.logical_not()).all().item<bool>());
        }
    }

    [Fact]
    public void TiesAreBrokenBySeedNotByScanOrder()
    {
        using var flat = zeros(1, 8, 8);
        Tensor Masks(ulong seed) { using var g = new Generator(seed, CPU); return Road.RemovalMasks(flat, [50], RemovalOrder.MoRF, g); }
        using var a = Masks(1);
        using var b = Masks(1);
        using var c = Masks(2);
        Assert.True(a.eq(b).all().item<bool>());
        Assert.False(a.eq(c).all().item<bool>());
        Assert.Equal(32, a.sum().item<long>());
        // Scan order would remove the top half of the image exactly.
        using var topHalf = zeros(1, 1, 8, 8, dtype: ScalarType.Bool);
        topHalf[0, 0, ..4] = tensor(true);
        Assert.False(a.eq(topHalf).all().item<bool>());
    }
}
