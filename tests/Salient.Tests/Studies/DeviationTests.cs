using Salient.Studies;

namespace Salient.Tests.Studies;

public class DeviationTests
{
    [Fact]
    public void ThePaperPresetDiffersFromNothing()
    {
        Assert.Empty(StudySettings.Preset("paper").DifferencesFromPaper());
        // The data source and the name are where and what, not how: they are never deviations.
        Assert.Empty((StudySettings.Preset("paper") with { Name = "mine", Data = StudySettings.Preset("paper").Data with { Source = "/elsewhere" } }).DifferencesFromPaper());
    }

    [Fact]
    public void TheGtsrbPresetGivesAReasonForEveryDifference()
    {
        var differences = StudySettings.Preset("gtsrb").DifferencesFromPaper();
        Assert.NotEmpty(differences);
        Assert.All(differences, d => Assert.DoesNotContain("no reason given", d.Why));
        var rate = Assert.Single(differences, d => d.Setting == "training.learningRate");
        Assert.Equal("0.01", rate.Paper);
        Assert.Equal("0.05", rate.Study);
        // A reason given for a whole group covers each setting under it.
        Assert.Contains(differences, d => d.Setting.StartsWith("training.augmentation.") && d.Why.Contains("mirror"));
    }

    [Fact]
    public void AChangeWithoutAReasonIsStillListedAndSaysSo()
    {
        var paper = StudySettings.Preset("paper");
        var study = paper with { Training = paper.Training with { BatchSize = 64 } };
        var d = Assert.Single(study.DifferencesFromPaper());
        Assert.Equal(("training.batchSize", "128", "64"), (d.Setting, d.Paper, d.Study));
        Assert.Contains("no reason given", d.Why);
    }

    [Fact]
    public void TheGridIsComparedByTheModelsItMakes()
    {
        var paper = StudySettings.Preset("paper");
        // Another order and spelling, and post-ft without post-noft (whose models come with it): the same eleven models.
        var same = paper with { PruningMethods = ["layered", "L1", "global"], PruningFlows = ["post-ft", "pre"] };
        Assert.Empty(same.DifferencesFromPaper());

        var natural = paper with
        {
            Strategies = ["natural"],
            PruningFlows = ["pre"],
            Deviations = new() { ["strategies"] = "No adversarial model on this budget." },
        };
        var d = Assert.Single(natural.DifferencesFromPaper());
        Assert.Equal("strategies, pruningMethods, pruningFlows", d.Setting);
        Assert.Equal("11 models", d.Paper);
        Assert.Equal("4 models, without Adv, L1-Post-noFT, L1-Post-FT, Global-Post-noFT, Global-Post-FT, Layered-Post-noFT, Layered-Post-FT", d.Study);
        Assert.Equal("No adversarial model on this budget.", d.Why);

        // The strong adversarial model is compared as its setting is written, not among the grid's models.
        var noStrong = paper with { ExtraAdversarialEpsilons = [], Deviations = new() { ["extraAdversarialEpsilons"] = "GTSRB: the paper made it for LISA." } };
        var strong = Assert.Single(noStrong.DifferencesFromPaper());
        Assert.Equal(("extraAdversarialEpsilons", "[0.1]", "[]", "GTSRB: the paper made it for LISA."), (strong.Setting, strong.Paper, strong.Study, strong.Why));
    }
}
