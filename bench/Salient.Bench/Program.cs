using System.Text.Json;
using Salient.Bench;

// Prints one JSON object of timings (seconds, medians over repeats). Run in Release:
//   dotnet run -c Release --project bench/Salient.Bench [-- --only key1,key2]
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',').ToHashSet();
var results = new Dictionary<string, object>();
foreach (var (key, measure) in Benchmarks.All)
{
    if (only is not null && !only.Contains(key)) continue;
    Console.Error.WriteLine($"measuring {key} ...");
    var seconds = measure();
    if (double.IsNaN(seconds)) Console.Error.WriteLine($"{key}: skipped");
    else results[key] = Math.Round(seconds, 6);
}
results["torch_threads"] = TorchSharp.torch.get_num_threads();
Console.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
