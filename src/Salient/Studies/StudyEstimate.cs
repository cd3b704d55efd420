using System.Diagnostics;
using Salient.Data;
using Salient.Models;
using Salient.Training;
using static TorchSharp.torch;

namespace Salient.Studies;

/// <summary>
/// How long a study's cells should take on this machine: the plan counts each cell's work in
/// forward+backward passes of one image (<see cref="CellPlan.Passes"/>); a short measurement of the
/// study's own model gives the seconds one such pass takes here, as a training step per image (with
/// its augmentation and update, which the training cells pay and the others do not: a slight
/// overestimate for explanation and metric cells, where an underestimate would cut cluster jobs short).
/// </summary>
public sealed record StudyEstimate(double SecondsPerPass)
{
    public double Seconds(CellPlan cell) => cell.Passes * SecondsPerPass;
    public TimeSpan Total(IEnumerable<CellPlan> cells) => TimeSpan.FromSeconds(cells.Sum(Seconds));

    /// <summary>
    /// Times a few training steps of the study's model on random images of its size, as the trainer
    /// runs them: augmentation, forward, loss, backward and the optimizer's update, at the recipe's
    /// batch size (at most 128). Timing only the passes, at batch 64, gave 9.6 ms per image where
    /// the trainer's epochs on real GTSRB took 11.4 per counted pass (385 s for 30,870 training and
    /// 8,339 test images).
    /// </summary>
    public static StudyEstimate Measure(StudySettings settings, int steps = 5)
    {
        using var scope = NewDisposeScope();
        int classes = settings.Data.Source == DataSettings.Synthetic ? settings.Data.SyntheticClasses : 43;
        var spec = new ModelSpec
        {
            Architecture = settings.Model.Architecture, Width = settings.Model.Width, Stem = settings.Model.Stem, BatchNorm = settings.Model.BatchNorm,
            NumClasses = classes, InputSize = settings.Data.ImageSize,
        };
        using var model = ModelFactory.Create(spec);
        model.train();
        var recipe = settings.Training;
        using var optimizer = recipe.CreateOptimizer(model);
        int batch = Math.Clamp(recipe.BatchSize, 8, 128);
        using var generator = new Generator(0);
        var images = rand([batch, 3, spec.InputSize, spec.InputSize], generator: generator);
        var labels = randint(0, classes, [batch], generator: generator);
        ulong step = 0;
        void Step()
        {
            using var inner = NewDisposeScope();
            var input = Augmentation.Apply(images, recipe.Augmentation, step++);
            optimizer.ZeroGrad();
            recipe.Loss(model.forward(input), labels).backward();
            optimizer.Step();
        }
        // libtorch's first steps of a model pay for one-time set-up (allocations, oneDNN's kernel choice),
        // and while .NET still compiles in the background a step can take twice as long: a few untimed
        // steps, then the fastest of several, which is what the long run of a cell settles at.
        for (int i = 0; i < 3; i++) Step();
        double fastest = double.MaxValue;
        var budget = Stopwatch.StartNew();
        for (int i = 0; i < steps || (i < 6 * steps && budget.Elapsed < TimeSpan.FromSeconds(3)); i++)
        {
            var clock = Stopwatch.StartNew();
            Step();
            fastest = Math.Min(fastest, clock.Elapsed.TotalSeconds);
        }
        return new StudyEstimate(fastest / batch);
    }
}
