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
}
