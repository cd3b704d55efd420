using System.Diagnostics;
using Salient.Data;
using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Studies;

/// <summary>
/// How long a study's cells should take on this machine: the plan counts each cell's work in
/// forward+backward passes of one image (<see cref="CellPlan.Passes"/>); a short measurement of the
/// study's own model gives the seconds one such pass takes here.
/// </summary>
public sealed record StudyEstimate(double SecondsPerPass)
{
    public double Seconds(CellPlan cell) => cell.Passes * SecondsPerPass;
    public TimeSpan Total(IEnumerable<CellPlan> cells) => TimeSpan.FromSeconds(cells.Sum(Seconds));

    /// <summary>Times a few training steps (forward, loss, backward) of the study's model on random images of its size.</summary>
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
        int batch = Math.Clamp(settings.Training.BatchSize, 8, 64);
        using var generator = new Generator(0);
        var images = rand([batch, 3, spec.InputSize, spec.InputSize], generator: generator);
        var labels = randint(0, classes, [batch], generator: generator);
        void Step()
        {
            using var inner = NewDisposeScope();
            model.zero_grad();
            nn.functional.cross_entropy(model.forward(images), labels).backward();
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
        model.zero_grad();
        return new StudyEstimate(fastest / batch);
    }
}
