using Salient.Execution.Slurm;

namespace Salient.Tests.Execution;

/// <summary>Settings and checks that stop a bad job before any Slurm command runs; no Slurm needed.</summary>
public class SlurmSettingsTests
{
    [Fact]
    public void DefaultsAndSlurmsTimeNotationsAreValid()
    {
        new SlurmSettings().Validate();
        foreach (var time in new[] { "90", "90:30", "12:00:00", "2-12", "2-12:30", "2-12:30:00", "UNLIMITED", "infinite" })
            new SlurmSettings { TimeLimit = time }.Validate();
        foreach (var memory in new[] { "", "500", "500M", "8G", "1t" })
            new SlurmSettings { Memory = memory }.Validate();
    }

    [Theory]
    [InlineData("timeLimit", "2 hours")]
    [InlineData("timeLimit", "1:2:3:4")]
    [InlineData("timeLimit", "")]
    [InlineData("memory", "8 GB")]
    [InlineData("memory", "-1G")]
    [InlineData("cpusPerTask", "0")]
    [InlineData("partition", "long queue")]
    [InlineData("extraArguments", "mylab")]
    [InlineData("extraArguments", "--account mylab")]
    [InlineData("salientCommand", "")]
    public void EachBadSettingIsOneSentenceNamingIt(string setting, string value)
    {
        var settings = setting switch
        {
            "timeLimit" => new SlurmSettings { TimeLimit = value },
            "memory" => new SlurmSettings { Memory = value },
            "cpusPerTask" => new SlurmSettings { CpusPerTask = int.Parse(value) },
            "partition" => new SlurmSettings { Partition = value },
            "extraArguments" => new SlurmSettings { ExtraArguments = ["--qos=long", value] },
            _ => new SlurmSettings { SalientCommand = value.Length == 0 ? [] : [value] },
        };
        var e = Assert.Throws<SalientException>(settings.Validate);
        Assert.StartsWith($"'slurm.{setting}'", e.Message);
        Assert.EndsWith(".", e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // The client refuses them too, before running anything.
        Assert.Equal(e.Message, Assert.Throws<SalientException>(() => new SlurmClient(settings)).Message);
    }

    [Fact]
    public void ExtraArgumentsInTheNameValueFormAreAccepted()
    {
        new SlurmSettings { ExtraArguments = ["--account=mylab", "--comment=two words", "-q", "--exclusive"] }.Validate();
    }

    [Fact]
    public void JobRunsTheSalientCommandFollowedBySalientsArguments()
    {
        var settings = new SlurmSettings { SalientCommand = ["/shared/dotnet", "/shared/salient/salient.dll"] };
        Assert.Equal(["/shared/dotnet", "/shared/salient/salient.dll", "study", "--cell", "a b"],
            settings.SalientInvocation("study", "--cell", "a b"));
    }

    [Fact]
    public void JobWithoutACommandOrWithABadDependencyIsRefusedBeforeSlurmIsAsked()
    {
        using var folder = new TempFolder();
        var client = new SlurmClient(new SlurmSettings());
        var noCommand = Assert.Throws<SalientException>(() => client.Submit(new SlurmJobRequest { Name = "cell-1", Command = [], OutputLog = folder["x.log"] }));
        Assert.Equal("Slurm job 'cell-1' has no command to run.", noCommand.Message);
        var badDependency = Assert.Throws<SalientException>(() => client.Submit(new SlurmJobRequest
        {
            Name = "cell-2", Command = ["/bin/true"], OutputLog = folder["x.log"], AfterOk = ["12:13"],
        }));
        Assert.Equal("\"12:13\" is not a Slurm job id (digits, as sbatch prints them).", badDependency.Message);
        Assert.Equal(badDependency.Message, Assert.Throws<SalientException>(() => client.Query(["12:13"])).Message);
    }

    [Fact]
    public void MissingSlurmCommandsAreOneClearSentence()
    {
        using var emptyPath = new TempFolder();
        var path = Environment.GetEnvironmentVariable("PATH");
        Environment.SetEnvironmentVariable("PATH", emptyPath.Path);
        try
        {
            var e = Assert.Throws<SalientException>(() => new SlurmClient(new SlurmSettings()).Cancel(["12"]));
            Assert.Equal("'scancel' was not found: Slurm's commands must be on the PATH of the machine that submits the jobs (a cluster's login node).", e.Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable("PATH", path);
        }
    }
}
