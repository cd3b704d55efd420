using System.Globalization;
using System.Text.Json;
using Salient.Bench;

// Prints one JSON object of timings (seconds, medians over repeats) and the machine's convolution
// peak. Run in Release:
//   dotnet run -c Release --project bench/Salient.Bench [-- --only key1,key2] [--compare peer.json]
// --compare reads the reference stack's JSON (bench/compare.sh writes it) and also prints the
// ratio table, Markdown, on standard error.
try
{
    Salient.Models.ComputeDevice.Configure();
}
catch (Salient.SalientException e)
{
    return Fail(e.Message);
}
var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault()?.Split(',').ToHashSet();
var comparePath = args.SkipWhile(a => a != "--compare").Skip(1).FirstOrDefault();
if (args.Contains("--compare") && comparePath is null) return Fail("--compare needs the reference's JSON file, e.g. --compare bench-results/peer.json.");
Dictionary<string, double>? reference = null;
if (comparePath is not null)
{
    if (!File.Exists(comparePath)) return Fail($"The reference file '{comparePath}' does not exist; write it with bench/compare.sh (or ../shared/bench-peer/peer_bench.py).");
    try
    {
        reference = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(comparePath))!
            .Where(kv => kv.Value.ValueKind == JsonValueKind.Number).ToDictionary(kv => kv.Key, kv => kv.Value.GetDouble());
    }
    catch (JsonException e)
    {
        return Fail($"The reference file '{comparePath}' is not one JSON object of numbers ({e.Message}); write it with bench/compare.sh.");
    }
}

var results = new Dictionary<string, object>();
var measured = new Dictionary<string, double>();
foreach (var (key, measure) in Benchmarks.All)
{
    if (only is not null && !only.Contains(key)) continue;
    Console.Error.WriteLine($"measuring {key} ...");
    var seconds = measure();
    if (double.IsNaN(seconds))
    {
        Console.Error.WriteLine($"{key}: skipped");
        continue;
    }
    measured[key] = seconds;
    results[key] = Math.Round(seconds, 6);
}
foreach (var (name, of, to) in Benchmarks.Ratios)
    if (measured.TryGetValue(of, out var a) && measured.TryGetValue(to, out var b)) results[name] = Math.Round(a / b, 3);
results["torch_threads"] = TorchSharp.torch.get_num_threads();

// The floor: a training step's convolution FLOPs at the machine's convolution peak, measured the
// way ../shared/bench-peer/README.md says (PyTorch, NCHW: the reference's conv_peak_gflops) when
// --compare gives it, else at Salient's own peak; the ratio to Salient's own peak is always there.
if (measured.TryGetValue("conv_peak_gflops", out var salientPeak))
{
    double flop = ConvPeakBench.TrainStepConvGflop();
    results["train_step_conv_gflop"] = Math.Round(flop, 1);
    double? referencePeak = reference?.TryGetValue("conv_peak_gflops", out var p) == true ? p : null;
    if (referencePeak is { } rp)
    {
        results["reference_conv_peak_gflops"] = rp;
        if (reference!.TryGetValue("conv_peak_channels_last_gflops", out var cl)) results["reference_conv_peak_channels_last_gflops"] = cl;
    }
    double floorPeak = referencePeak ?? salientPeak;
    results["train_step_floor_peak"] = referencePeak is null ? "conv_peak_gflops (Salient's)" : "reference_conv_peak_gflops (PyTorch, NCHW)";
    results["train_step_floor_s"] = Math.Round(flop / floorPeak, 4);
    if (measured.TryGetValue("train_step_b128_s", out var step))
    {
        results["train_step_vs_floor"] = Math.Round(step / (flop / floorPeak), 3);
        results["train_step_vs_salient_peak_floor"] = Math.Round(step / (flop / salientPeak), 3);
    }
}
if (reference is not null)
{
    results["reference_file"] = Path.GetFullPath(comparePath!);
    // Timings only: the peaks are rates and stand in the floor line below.
    var ratios = measured.Keys.Where(k => k.EndsWith("_s") && reference.ContainsKey(k))
        .ToDictionary(k => k, k => Math.Round(measured[k] / reference[k], 3));
    results["ratio_to_reference"] = ratios;
    var inv = CultureInfo.InvariantCulture;
    Console.Error.WriteLine();
    Console.Error.WriteLine("| key | Salient | reference | Salient / reference |");
    Console.Error.WriteLine("|---|---:|---:|---:|");
    foreach (var (key, ratio) in ratios)
        Console.Error.WriteLine(string.Create(inv, $"| `{key}` | {measured[key]:G4} | {reference[key]:G4} | {ratio:F2} |"));
    if (results.TryGetValue("train_step_vs_floor", out var vsFloor))
        Console.Error.WriteLine(string.Create(inv,
            $"\nconv peak (GFLOP/s): reference {reference.GetValueOrDefault("conv_peak_gflops"):F0} (PyTorch NCHW; channels-last {reference.GetValueOrDefault("conv_peak_channels_last_gflops"):F0}), Salient {salientPeak:F0} (channels-last); training-step floor {results["train_step_floor_s"]} s at the reference's peak; step / floor {vsFloor} ({results["train_step_vs_salient_peak_floor"]} at Salient's peak)"));
}
Console.WriteLine(JsonSerializer.Serialize(results, new JsonSerializerOptions { WriteIndented = true }));
return 0;

static int Fail(string message)
{
    Console.Error.WriteLine(message);
    return 2;
}
