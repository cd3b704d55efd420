using System.Globalization;
using System.Text;

namespace Salient.Evaluation;

/// <summary>CSV views of a <see cref="RoadResult"/>: the curves with their areas, and every per-image outcome.</summary>
public static class RoadCsv
{
    /// <summary>
    /// Header <c>percentage,morf_accuracy,lerf_accuracy</c>, one row per percentage, then a row whose first
    /// field is <c>area</c> holding the two areas. Numbers use the invariant culture and round-trip exactly.
    /// </summary>
    public static string Curve(RoadResult result)
    {
        var text = new StringBuilder("percentage,morf_accuracy,lerf_accuracy\n");
        for (int p = 0; p < result.Percentages.Length; p++)
            text.Append(Number(result.Percentages[p])).Append(',').Append(Number(result.MorfAccuracy[p])).Append(',')
                .Append(Number(result.LerfAccuracy[p])).Append('\n');
        text.Append("area,").Append(Number(result.MorfArea)).Append(',').Append(Number(result.LerfArea)).Append('\n');
        return text.ToString();
    }

    /// <summary>Header <c>image,order,percentage,correct</c>; image is the index in the caller's batch, correct is 0 or 1.</summary>
    public static string Outcomes(RoadResult result)
    {
        var text = new StringBuilder("image,order,percentage,correct\n");
        foreach (var order in new[] { RemovalOrder.MoRF, RemovalOrder.LeRF })
        {
            var outcomes = result.Outcomes(order);
            for (int i = 0; i < result.EvaluatedImages; i++)
                for (int p = 0; p < result.Percentages.Length; p++)
                    text.Append(result.EvaluatedImageIndices[i]).Append(',').Append(order).Append(',')
                        .Append(Number(result.Percentages[p])).Append(',').Append(outcomes[i, p] ? '1' : '0').Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Writes both CSVs, each through a temporary file renamed into place so no half-written file is left.</summary>
    public static void Write(RoadResult result, string curvePath, string outcomesPath)
    {
        AtomicFile.WriteAllText(curvePath, Curve(result));
        AtomicFile.WriteAllText(outcomesPath, Outcomes(result));
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
