using Salient.Training;

namespace Salient.Tests.Training;

public class LearningRateScheduleTests
{
    private static double[] Curve(LearningRateSchedule schedule, int epochs, int batches) =>
        Enumerable.Range(0, epochs).SelectMany(e => Enumerable.Range(0, batches).Select(b => schedule.Factor(e, b, batches, epochs))).ToArray();

    [Fact]
    public void ThePapersScheduleIsConstant()
    {
        Assert.All(Curve(new LearningRateSchedule(), epochs: 3, batches: 5), f => Assert.Equal(1.0, f));
    }

    [Fact]
    public void WarmUpRisesLinearlyOverItsStepsThenHoldsTheRate()
    {
        var curve = Curve(new LearningRateSchedule { WarmupEpochs = 1 }, epochs: 2, batches: 4);
        Assert.Equal([0.25, 0.5, 0.75, 1, 1, 1, 1, 1], curve);
        // Half an epoch of four batches is two steps.
        Assert.Equal([0.5, 1, 1, 1], Curve(new LearningRateSchedule { WarmupEpochs = 0.5 }, epochs: 1, batches: 4));
    }

    [Fact]
    public void CosineStartsAfterTheWarmUpAndFallsTowardsZeroOverTheRestOfTheRun()
    {
        // 3 epochs × 2 batches, 1 warm-up epoch: 2 ramp steps, then cos over the 4 remaining steps.
        var curve = Curve(new LearningRateSchedule { Shape = LearningRateSchedule.Cosine, WarmupEpochs = 1 }, epochs: 3, batches: 2);
        double[] expected = [0.5, 1, 1, 0.5 * (1 + Math.Cos(Math.PI / 4)), 0.5, 0.5 * (1 + Math.Cos(3 * Math.PI / 4))];
        Assert.Equal(expected.Length, curve.Length);
        for (int i = 0; i < curve.Length; i++) Assert.Equal(expected[i], curve[i], 12);
    }

    [Fact]
    public void StepMultipliesTheRateByItsFactorEveryStepEpochs()
    {
        var curve = Curve(new LearningRateSchedule { Shape = LearningRateSchedule.Step, StepEpochs = 2, StepFactor = 0.1 }, epochs: 5, batches: 1);
        double[] expected = [1, 1, 0.1, 0.1, 0.01];
        for (int i = 0; i < curve.Length; i++) Assert.Equal(expected[i], curve[i], 12);
    }

    [Fact]
    public void AWarmUpLongerThanTheRunRampsOverTheWholeRun()
    {
        // A fine-tune of one epoch under a recipe with a two-epoch warm-up still trains (the rate ramps, never divides by zero).
        var curve = Curve(new LearningRateSchedule { Shape = LearningRateSchedule.Cosine, WarmupEpochs = 2 }, epochs: 1, batches: 4);
        Assert.Equal([0.25, 0.5, 0.75, 1], curve);
    }

    [Theory]
    [InlineData("linear", double.NaN, 10, 0.1, "schedule.shape")]
    [InlineData("cosine", double.NaN, 10, 0.1, "schedule.warmupEpochs")]
    [InlineData("cosine", -1, 10, 0.1, "--warmup-epochs")]
    [InlineData("step", 0, 0, 0.1, "schedule.stepEpochs")]
    [InlineData("step", 0, 10, double.NaN, "schedule.stepFactor")]
    [InlineData("step", 0, 10, 1.5, "--step-factor")]
    public void BadSettingsAreOneSentenceNamingTheSetting(string shape, double warmup, int stepEpochs, double stepFactor, string named)
    {
        var schedule = new LearningRateSchedule { Shape = shape, WarmupEpochs = warmup, StepEpochs = stepEpochs, StepFactor = stepFactor };
        var e = Assert.Throws<SalientException>(schedule.Validate);
        Assert.Contains(named, e.Message);
        Assert.DoesNotContain('\n', e.Message);
    }
}
