using Salient.Evaluation;
using Salient.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Salient.Tests.Evaluation;

public class GradientNormTests
{
    /// <summary>Logits linear in the model-space input, so ∂f_c/∂z is row c of the weight matrix.</summary>
    private sealed class LinearProbe : SalientModel
    {
        private readonly Linear head;
        public LinearProbe(ModelSpec spec) : base(nameof(LinearProbe), spec)
        {
            head = nn.Linear(3 * spec.InputSize * spec.InputSize, spec.NumClasses);
            RegisterComponents();
        }
        public Linear Head => head;
        public override Tensor ForwardModelSpace(Tensor modelSpaceInput) => head.forward(modelSpaceInput.flatten(1));
        public override string OutputLayerName => "head";
    }

    [Fact]
    public void ALinearModelsNormIsItsWeightRowNorm()
    {
        random.manual_seed(8);
        using var model = new LinearProbe(new ModelSpec { NumClasses = 4, InputSize = 8 });
        model.train();
        using var images = rand(6, 3, 8, 8);
        using var targets = tensor(new long[] { 0, 3, 1, 1, 2, 0 });
        var norms = GradientNorm.PerImage(model, images, targets, batchSize: 4);
        var rows = model.Head.weight!.to(ScalarType.Float64).square().sum(1).sqrt().data<double>().ToArray();
        Assert.Equal(new[] { 0, 3, 1, 1, 2, 0 }.Select(c => rows[c]).ToArray(), norms, (a, b) => Math.Abs(a - b) < 1e-6);
        Assert.True(model.training);
        Assert.All(model.parameters(), p => Assert.True(p.requires_grad));
    }

    [Fact]
    public void BatchingDoesNotMixImages()
    {
        random.manual_seed(9);
        using var model = ModelFactory.Create(new ModelSpec { NumClasses = 5, Width = 0.125 });
        using var images = rand(4, 3, 32, 32);
        using var targets = tensor(new long[] { 4, 0, 2, 2 });
        var together = GradientNorm.PerImage(model, images, targets, batchSize: 4);
        var alone = GradientNorm.PerImage(model, images, targets, batchSize: 1);
        for (int i = 0; i < 4; i++) Assert.Equal(alone[i], together[i], alone[i] * 1e-4);
        Assert.All(together, n => Assert.True(n > 0));
        var mean = GradientNorm.Mean(model, images, targets);
        Assert.Equal(together.Average(), mean.Mean, 1e-9);
    }

    [Fact]
    public void TargetsMustMatchTheImages()
    {
        using var model = new LinearProbe(new ModelSpec { NumClasses = 4, InputSize = 8 });
        using var images = rand(3, 3, 8, 8);
        using var targets = tensor(new long[] { 0, 1 });
        var error = Assert.Throws<SalientException>(() => GradientNorm.PerImage(model, images, targets));
        Assert.Contains("one target class per image", error.Message);
    }
}
