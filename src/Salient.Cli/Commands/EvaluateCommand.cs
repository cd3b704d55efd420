using System.CommandLine;
using System.Globalization;
using Salient.Evaluation;
using Salient.Models;
using Salient.Training;
using Spectre.Console;

namespace Salient.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var checkpointOption = new Option<string>("--checkpoint") { Description = "Checkpoint to evaluate", Required = true };
        var outDir = new Option<string?>("--out") { Description = "Folder for confusion.csv and per-class.csv" };
        var robust = new Option<bool>("--robust") { Description = "Also report accuracy under a PGD-L∞ attack" };
        var epsilon = new Option<double?>("--epsilon") { Description = "PGD radius in [0,1] pixel units (default 0.01, the paper's)" };
        var attackSteps = new Option<int?>("--attack-steps") { Description = "PGD iterations (default 40, the paper's: evaluation keeps the full attack whatever the training used)" };
        var command = new Command("evaluate", "Accuracy, per-class accuracy and confusion matrix of a checkpoint on a test split") { checkpointOption, outDir, robust, epsilon, attackSteps };
        data.AddTo(command);
        command.SetAction(CommandRunner.Guard(parse =>
        {
            var paperAttack = new PgdSettings();
            var attack = paperAttack with { Epsilon = parse.GetValue(epsilon) ?? paperAttack.Epsilon, Iterations = parse.GetValue(attackSteps) ?? paperAttack.Iterations };
            attack.Validate();
            using var ckpt = Checkpoint.Load(parse.GetValue(checkpointOption)!);
            using var split = data.Open(parse);
            DataOptions.RequireSameClasses(ckpt.ClassNames, split.ClassNames);
            var report = Classification.Evaluate(ckpt.Model, split.Test);
            var perClass = report.PerClassAccuracy();
            var table = new Table().AddColumns("id", "class", "test images", "accuracy");
            var counts = split.Test.ClassCounts();
            for (int c = 0; c < perClass.Length; c++)
                table.AddRow(c.ToString(), Markup.Escape(report.ClassNames[c]), counts[c].ToString(), double.IsNaN(perClass[c]) ? "–" : perClass[c].ToString("P1"));
            AnsiConsole.Write(table);
            Console.WriteLine($"Accuracy: {report.Accuracy:P2} ({report.Correct}/{report.Count})");
            double? robustAccuracy = null;
            if (parse.GetValue(robust))
            {
                TorchSharp.torch.random.manual_seed(0);
                using var labels = split.Test.LabelTensor();
                robustAccuracy = AdversarialTraining.RobustAccuracy(ckpt.Model, split.Test.Images, labels, attack);
                Console.WriteLine($"Robust accuracy under {attack.Describe()}: {robustAccuracy:P2}");
            }
            if (parse.GetValue(outDir) is { } dir)
            {
                Directory.CreateDirectory(dir);
                AtomicFile.WriteAllText(Path.Combine(dir, "confusion.csv"), report.ConfusionCsv());
                var lines = new List<string> { "class_id,class,test_images,accuracy" };
                for (int c = 0; c < perClass.Length; c++)
                    lines.Add($"{c},{ClassificationReport.CsvQuote(report.ClassNames[c])},{counts[c]},{perClass[c].ToString("R", CultureInfo.InvariantCulture)}");
                lines.Add($"all,all,{report.Count},{report.Accuracy.ToString("R", CultureInfo.InvariantCulture)}");
                if (robustAccuracy is { } r) lines.Add($"robust,all,{report.Count},{r.ToString("R", CultureInfo.InvariantCulture)}");
                AtomicFile.WriteAllLines(Path.Combine(dir, "per-class.csv"), lines);
                Console.WriteLine($"Wrote {Path.Combine(dir, "confusion.csv")} and per-class.csv");
            }
            return 0;
        }));
        return command;
    }
}
