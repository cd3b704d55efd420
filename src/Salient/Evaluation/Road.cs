using Salient.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace Salient.Evaluation;

/// <summary>Which pixels ROAD removes: the most relevant first, or all but the most relevant.</summary>
public enum RemovalOrder { MoRF, LeRF }

/// <summary>Settings of a ROAD run; the defaults are the protocol's (SPEC.md §5).</summary>
public sealed record RoadOptions
{
    /// <summary>Percent of pixels ranked as most relevant: removed (MoRF) or kept (LeRF); each strictly between 0 and 100.</summary>
    public double[] Percentages { get; init; } = [10, 20, 30, 40, 50, 60, 70, 80, 90];
    public double NoiseStd { get; init; } = NoisyLinearImputation.DefaultNoiseStd;
    /// <summary>Drives the tie-break among equal map values and the imputation noise.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>Images whose 2 × |Percentages| imputations are built at once (bounds memory).</summary>
    public int ImagesPerRound { get; init; } = 64;
    public int ClassifyBatchSize { get; init; } = 256;

    public void Validate()
    {
        if (Percentages.Length == 0)
            throw new SalientException("ROAD needs at least one removal percentage; set the percentages, e.g. 10,20,…,90.");
        foreach (var p in Percentages)
            if (!(p > 0 && p < 100))
                throw new SalientException($"ROAD percentage {p} is out of range; use values strictly between 0 and 100.");
        if (NoiseStd < 0 || double.IsNaN(NoiseStd))
            throw new SalientException($"ROAD imputation noise {NoiseStd} is invalid; use a standard deviation ≥ 0 (0.01 by default).");
        if (ImagesPerRound < 1 || ClassifyBatchSize < 1)
            throw new SalientException("ROAD batch sizes must be at least 1.");
    }
}

/// <summary>
/// Remove And Debias (Rong et al. 2022) with noisy linear imputation, on the correctly classified images
/// only. Outcomes are kept per image, percentage and order so curves can be re-aggregated later.
/// </summary>
/// <param name="EvaluatedImageIndices">Indices, in the caller's batch, of the correctly classified images that were evaluated.</param>
/// <param name="MorfCorrect">[evaluated image, percentage] → still classified correctly after MoRF removal.</param>
public sealed record RoadResult(
    double[] Percentages,
    double[] MorfAccuracy,
    double[] LerfAccuracy,
    int TotalImages,
    int[] EvaluatedImageIndices,
    bool[,] MorfCorrect,
    bool[,] LerfCorrect)
{
    public int EvaluatedImages => EvaluatedImageIndices.Length;
    /// <summary>Area under the MoRF curve as the mean accuracy over percentages (lower = more faithful).</summary>
    public double MorfArea => MorfAccuracy.Average();
    /// <summary>Area under the LeRF curve as the mean accuracy over percentages (higher = more faithful).</summary>
    public double LerfArea => LerfAccuracy.Average();

    public bool[,] Outcomes(RemovalOrder order) => order == RemovalOrder.MoRF ? MorfCorrect : LerfCorrect;
}

public static class Road
{
    /// <summary>
    /// Runs ROAD for pixel-space <paramref name="images"/> (N×C×H×W in [0,1]), their true
    /// <paramref name="labels"/> (N) and saliency <paramref name="maps"/> (N×H×W). The model takes pixel
    /// space (it normalises internally); it is put in eval mode for the run and restored after.
    /// </summary>
    public static RoadResult Evaluate(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, Tensor maps, RoadOptions? options = null)
    {
        options ??= new RoadOptions();
        options.Validate();
        CheckShapes(images, labels, maps);
        int total = (int)images.shape[0], percentages = options.Percentages.Length;

        using var evaluating = EvalScope.Eval(model);
        using var noGrad = no_grad();
        using var generator = new Generator((ulong)options.Seed, CPU);
        int[] evaluated = CorrectlyClassified(model, images, labels, options.ClassifyBatchSize);
        if (evaluated.Length == 0)
            throw new SalientException("The model classifies none of the given images correctly, so ROAD has nothing to evaluate; check that the checkpoint matches the data set.");

        var morf = new bool[evaluated.Length, percentages];
        var lerf = new bool[evaluated.Length, percentages];
        for (int start = 0; start < evaluated.Length; start += options.ImagesPerRound)
        {
            using var scope = NewDisposeScope();
            int count = Math.Min(options.ImagesPerRound, evaluated.Length - start);
            var index = tensor(evaluated.AsSpan(start, count).ToArray().Select(i => (long)i).ToArray());
            var chunkImages = images.index_select(0, index).to(ScalarType.Float32).cpu();
            var chunkLabels = labels.index_select(0, index).to(ScalarType.Int64).cpu();
            var chunkMaps = maps.index_select(0, index);

            // Order: image, then MoRF percentages, then LeRF percentages.
            var removed = cat([
                RemovalMasks(chunkMaps, options.Percentages, RemovalOrder.MoRF, generator),
                RemovalMasks(chunkMaps, options.Percentages, RemovalOrder.LeRF, generator)], 1);
            int variants = 2 * percentages;
            var repeated = chunkImages.unsqueeze(1).expand(-1, variants, -1, -1, -1).flatten(0, 1);
            var imputed = NoisyLinearImputation.Impute(repeated, removed.flatten(0, 1), options.NoiseStd, generator);
            var predictions = Predict(model, imputed, options.ClassifyBatchSize).view(count, variants);
            var correct = predictions.eq(chunkLabels.unsqueeze(1)).to(ScalarType.Byte).data<byte>().ToArray();
            for (int i = 0; i < count; i++)
                for (int p = 0; p < percentages; p++)
                {
                    morf[start + i, p] = correct[i * variants + p] != 0;
                    lerf[start + i, p] = correct[i * variants + percentages + p] != 0;
                }
        }
        return new RoadResult((double[])options.Percentages.Clone(), Accuracy(morf), Accuracy(lerf), total, evaluated, morf, lerf);
    }

    /// <summary>
    /// Removal masks (N×P×H×W bool, true = removed) for each map and percentage. Pixels are ranked by map
    /// value, highest first; equal values are ordered by a random permutation drawn from
    /// <paramref name="generator"/>, so ties never follow scan order and unequal values keep their exact order.
    /// MoRF removes the top ⌊p·H·W/100⌋ pixels; LeRF keeps them and removes the rest.
    /// </summary>
    public static Tensor RemovalMasks(Tensor maps, IReadOnlyList<double> percentages, RemovalOrder order, Generator? generator = null)
    {
        if (maps.dim() != 3)
            throw new SalientException($"Saliency maps must be N×H×W, got shape [{string.Join(", ", maps.shape)}]; reduce the channels first.");
        using var scope = NewDisposeScope();
        long count = maps.shape[0], height = maps.shape[1], width = maps.shape[2], plane = height * width;
        var values = maps.detach().cpu().to(ScalarType.Float64).reshape(count, plane);
        var shuffle = rand([count, plane], generator: generator, device: CPU).argsort(1);
        var (_, byValue) = values.gather(1, shuffle).sort(1, descending: true, stable: true);
        var mostRelevantFirst = shuffle.gather(1, byValue);
        var rank = zeros([count, plane], ScalarType.Int64)
            .scatter_(1, mostRelevantFirst, arange(plane, dtype: ScalarType.Int64).expand(count, plane));
        var topCounts = tensor(percentages.Select(p => (long)Math.Floor(p * plane / 100 + 1e-9)).ToArray()).view(1, -1, 1);
        var inTop = rank.unsqueeze(1) < topCounts;
        var removed = order == RemovalOrder.MoRF ? inTop : inTop.logical_not();
        return removed.view(count, percentages.Count, height, width).MoveToOuterDisposeScope();
    }

    private static void CheckShapes(Tensor images, Tensor labels, Tensor maps)
    {
        if (images.dim() != 4)
            throw new SalientException($"ROAD images must be N×C×H×W pixel-space tensors, got shape [{string.Join(", ", images.shape)}].");
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new SalientException($"ROAD needs one label per image: {images.shape[0]} images but labels of shape [{string.Join(", ", labels.shape)}].");
        if (maps.dim() != 3 || maps.shape[0] != images.shape[0] || maps.shape[1] != images.shape[2] || maps.shape[2] != images.shape[3])
            throw new SalientException($"The saliency maps have shape [{string.Join(", ", maps.shape)}] but the images are [{string.Join(", ", images.shape)}]; give one H×W map per image (sum the channels).");
        using var finite = maps.isfinite().all();
        if (!finite.item<bool>())
            throw new SalientException("The saliency maps contain NaN or infinite values; recompute the explanations (a model or method produced invalid gradients).");
    }

    private static int[] CorrectlyClassified(nn.Module<Tensor, Tensor> model, Tensor images, Tensor labels, int batchSize)
    {
        using var scope = NewDisposeScope();
        var predictions = Predict(model, images.to(ScalarType.Float32), batchSize);
        var correct = predictions.eq(labels.cpu().to(ScalarType.Int64)).to(ScalarType.Byte).data<byte>().ToArray();
        return Enumerable.Range(0, correct.Length).Where(i => correct[i] != 0).ToArray();
    }

    private static Tensor Predict(nn.Module<Tensor, Tensor> model, Tensor images, int batchSize)
    {
        var parts = new List<Tensor>();
        for (long start = 0; start < images.shape[0]; start += batchSize)
        {
            long length = Math.Min(batchSize, images.shape[0] - start);
            using var logits = model.forward(images.narrow(0, start, length));
            parts.Add(logits.argmax(1).cpu());
        }
        return cat(parts, 0);
    }

    private static double[] Accuracy(bool[,] outcomes)
    {
        int images = outcomes.GetLength(0), percentages = outcomes.GetLength(1);
        var accuracy = new double[percentages];
        for (int p = 0; p < percentages; p++)
        {
            int correct = 0;
            for (int i = 0; i < images; i++) if (outcomes[i, p]) correct++;
            accuracy[p] = (double)correct / images;
        }
        return accuracy;
    }
}
