using Salient.Models;
using static TorchSharp.torch;

namespace Salient.Tests.Models;

public class CheckpointTests
{
    private static readonly ModelSpec Tiny = new() { Width = 0.0625, NumClasses = 3, Mean = [0.1f, 0.2f, 0.3f], Std = [0.5f, 0.6f, 0.7f] };
    private static readonly string[] Classes = ["a", "b", "c"];

    [Fact]
    public void RoundTripKeepsEveryTensorSpecClassesAndMasks()
    {
        using var temp = new TempFolder();
        random.manual_seed(11);
        using var model = ModelFactory.Create(Tiny);
        var (name, layer) = model.MaskableLayers().First();
        layer.SetMask(rand_like(layer.Weight).gt(0.5));
        Checkpoint.Save(temp["m.safetensors"], model, Classes, new Dictionary<string, string> { ["note"] = "x" }, [KeyValuePair.Create("momentum/w", ones(2))]);

        using var loaded = Checkpoint.Load(temp["m.safetensors"]);
        Assert.Equal(Tiny with { }, loaded.Model.Spec with { Mean = Tiny.Mean, Std = Tiny.Std });
        Assert.Equal(Tiny.Mean, loaded.Model.Spec.Mean);
        Assert.Equal(Classes, loaded.ClassNames);
        Assert.Equal("x", loaded.Metadata["note"]);
        Assert.Equal([1f, 1f], loaded.TrainingState["momentum/w"].data<float>().ToArray());
        var original = model.state_dict();
        var restored = loaded.Model.state_dict();
        Assert.Equal(original.Keys.Order(), restored.Keys.Order());
        Assert.Contains($"{name}.weight_mask", restored.Keys);
        foreach (var (key, t) in original)
            Assert.True(t.equal(restored[key]).all().item<bool>(), key);
    }

    [Theory]
    [InlineData("vgg16")]
    [InlineData("resnet18")]
    public void ANewOutputLayerKeepsEveryOtherTensorAndStartsFresh(string architecture)
    {
        using var temp = new TempFolder();
        var spec = Tiny with { Architecture = architecture, Stem = "cifar" };
        random.manual_seed(11);
        using var trained = ModelFactory.Create(spec);
        var (masked, layer) = trained.MaskableLayers().First();
        layer.SetMask(rand_like(layer.Weight).gt(0.5));
        Checkpoint.Save(temp["m.safetensors"], trained, Classes);

        random.manual_seed(5);
        using var transferred = Checkpoint.WithNewOutputLayer(temp["m.safetensors"], 7);
        random.manual_seed(5);
        using var fresh = ModelFactory.Create(spec with { NumClasses = 7 });
        Assert.Equal(7, transferred.Spec.NumClasses);
        var output = transferred.OutputLayerName + ".";
        var before = trained.state_dict();
        var after = transferred.state_dict();
        var freshState = fresh.state_dict();
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        Assert.Contains($"{masked}.weight_mask", after.Keys);
        foreach (var (key, t) in after)
            Assert.True(t.equal(key.StartsWith(output) ? freshState[key] : before[key]).all().item<bool>(), key);
        Assert.Equal(7L, after[output + "weight"].shape[0]);
        // The model runs: 7 logits per image.
        Assert.Equal([2L, 7L], transferred.forward(rand(2, 3, 32, 32)).shape);

        // ResNet-18 pools adaptively, so its weights move to another image size; VGG-16's do not.
        if (architecture == "resnet18")
        {
            using var larger = Checkpoint.WithNewOutputLayer(temp["m.safetensors"], 7, 64);
            Assert.Equal(64, larger.Spec.InputSize);
            Assert.Equal([1L, 7L], larger.forward(rand(1, 3, 64, 64)).shape);
        }
        else
        {
            var e = Assert.Throws<SalientException>(() => Checkpoint.WithNewOutputLayer(temp["m.safetensors"], 7, 64));
            Assert.Contains("for 32×32 images, whose weights do not fit 64×64 ones", e.Message);
        }
    }

    [Fact]
    public void AStartingPointKeepsTheOutputLayerOnlyForTheSameClasses()
    {
        using var temp = new TempFolder();
        random.manual_seed(11);
        using var trained = ModelFactory.Create(Tiny);
        Checkpoint.Save(temp["m.safetensors"], trained, Classes);
        var before = trained.state_dict();

        using var same = Checkpoint.StartingPoint(temp["m.safetensors"], Classes);
        foreach (var (key, t) in same.state_dict())
            Assert.True(t.equal(before[key]).all().item<bool>(), key);

        // Three classes again, but other ones: the output layer starts afresh.
        using var renamed = Checkpoint.StartingPoint(temp["m.safetensors"], ["x", "y", "z"]);
        Assert.False(renamed.state_dict()["classifier.6.weight"].equal(before["classifier.6.weight"]).all().item<bool>());
        Assert.True(renamed.state_dict()["features.0.weight"].equal(before["features.0.weight"]).all().item<bool>());
    }

    [Fact]
    public void ADescriptionIsReadFromTheHeaderAlone()
    {
        using var temp = new TempFolder();
        using var model = ModelFactory.Create(Tiny);
        Checkpoint.Save(temp["m.safetensors"], model, Classes);
        var (spec, classes, _) = Checkpoint.ReadDescription(temp["m.safetensors"]);
        Assert.Equal(Tiny.ToJson(), spec.ToJson());
        Assert.Equal(Classes, classes);

        // Cut off after the header: the tensors are gone, the description is still there.
        var bytes = File.ReadAllBytes(temp["m.safetensors"]);
        int headerEnd = 8 + (int)BitConverter.ToUInt64(bytes, 0);
        File.WriteAllBytes(temp["header-only.safetensors"], bytes[..headerEnd]);
        Assert.Equal(Classes, Checkpoint.ReadDescription(temp["header-only.safetensors"]).ClassNames);
        Assert.Contains("damaged", Assert.Throws<SalientException>(() => Checkpoint.Load(temp["header-only.safetensors"])).Message);
        // A header that claims more than the file holds, and a safetensors file that is not a checkpoint.
        File.WriteAllBytes(temp["short.safetensors"], bytes[..(headerEnd - 5)]);
        Assert.Contains("header length points past the end", Assert.Throws<SalientException>(() => Checkpoint.ReadDescription(temp["short.safetensors"])).Message);
        SafeTensors.Write(temp["plain.safetensors"], [KeyValuePair.Create("w", ones(2))]);
        Assert.Contains("not a Salient checkpoint", Assert.Throws<SalientException>(() => Checkpoint.ReadDescription(temp["plain.safetensors"])).Message);
    }

    [Fact]
    public void LoadingIntoAnotherArchitectureIsAClearError()
    {
        using var temp = new TempFolder();
        using var vgg = ModelFactory.Create(Tiny);
        Checkpoint.Save(temp["vgg.safetensors"], vgg, Classes);
        using var resnet = ModelFactory.Create(Tiny with { Architecture = "resnet18" });
        var e = Assert.Throws<SalientException>(() => Checkpoint.LoadWeightsInto(resnet, temp["vgg.safetensors"]));
        Assert.Contains("vgg16", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Contains("vgg.safetensors", e.Message);
    }

    [Fact]
    public void ForeignOrMissingFilesAreNamed()
    {
        using var temp = new TempFolder();
        var missing = Assert.Throws<SalientException>(() => Checkpoint.Load(temp["none.safetensors"]));
        Assert.Contains("does not exist", missing.Message);
        File.WriteAllText(temp["junk.safetensors"], "not a checkpoint at all");
        var junk = Assert.Throws<SalientException>(() => Checkpoint.Load(temp["junk.safetensors"]));
        Assert.Contains("junk.safetensors", junk.Message);
        SafeTensors.Write(temp["plain.safetensors"], [KeyValuePair.Create("w", zeros(2))]);
        var plain = Assert.Throws<SalientException>(() => Checkpoint.Load(temp["plain.safetensors"]));
        Assert.Contains("salient import", plain.Message);
    }

    [Fact]
    public void SafeTensorsLayoutIsTheStandardOne()
    {
        using var temp = new TempFolder();
        SafeTensors.Write(temp["t.safetensors"], [KeyValuePair.Create("b", tensor(new long[] { 7, -1 })), KeyValuePair.Create("a", tensor(new float[] { 1.5f }))]);
        var bytes = File.ReadAllBytes(temp["t.safetensors"]);
        ulong n = BitConverter.ToUInt64(bytes, 0);
        Assert.Equal(0UL, n % 8);
        var header = System.Text.Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd();
        Assert.Equal("{\"b\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[16,20]}}", header);
        Assert.Equal(7L, BitConverter.ToInt64(bytes, 8 + (int)n));
        Assert.Equal(1.5f, BitConverter.ToSingle(bytes, 8 + (int)n + 16));
    }
}
