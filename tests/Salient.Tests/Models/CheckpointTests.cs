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
