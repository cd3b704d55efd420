#!/bin/sh
# Salient's benchmark and the reference stack (PyTorch + Captum + road_evaluation) on this
# machine, back to back, then the ratio table. Set-up of the reference: ../shared/bench-peer/README.md.
#   bench/compare.sh [OUTPUT_FOLDER]        (default bench-results/)
# Environment: BENCH_PEER (the bench-peer folder, default ../shared/bench-peer beside the repository),
# PEER_DIR (Captum and road checkouts, default /tmp/peer), THREADS (default 2).
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-bench-results}
peer=${BENCH_PEER:-$repo/../shared/bench-peer}
export THREADS=${THREADS:-2} OMP_WAIT_POLICY=PASSIVE
if [ ! -f "$peer/peer_bench.py" ]; then
  echo "compare.sh: $peer/peer_bench.py not found; set BENCH_PEER to the bench-peer folder." >&2
  exit 2
fi
mkdir -p "$out"
echo "load before: $(uptime)" >&2
/usr/bin/python3 "$peer/peer_bench.py" > "$out/peer-only.json"
/usr/bin/python3 "$repo/bench/reference/conv_peak.py" > "$out/peer-peak.json"
/usr/bin/python3 -c 'import json, sys; a = json.load(open(sys.argv[1])); a.update(json.load(open(sys.argv[2]))); print(json.dumps(a))' \
  "$out/peer-only.json" "$out/peer-peak.json" > "$out/peer.json"
rm "$out/peer-only.json" "$out/peer-peak.json"
# libtorch warns once per thread that NNPACK does not support this CPU; thousands of such lines would bury the table.
status_file="$out/.salient-status"
{ if dotnet run -c Release --project "$repo/bench/Salient.Bench" -- --compare "$out/peer.json" 2>&3 > "$out/salient.json"; then echo 0; else echo $?; fi > "$status_file"; } 3>&1 \
  | grep -v NNPACK >&2 || true
status=$(cat "$status_file"); rm -f "$status_file"
[ "$status" -eq 0 ] || exit "$status"
echo "load after: $(uptime)" >&2
