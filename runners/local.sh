#!/usr/bin/env bash
# One machine, one worker process per device, then the sweep on them. Separate processes isolate
# devices: a GPU runtime that crashes takes down its own worker only, whose candidates move to the
# others. Usage:
#   DEVICES="0 1 2 3" runners/local.sh configs/ses_vs_random.yaml [more `sweep run` arguments]
# DEVICES: GPU indices, or "cpu" entries (default: one "cpu" worker); THREADS: slots per worker
# (default: the worker's own default); MODEL_ROOT: the workers' model root (default: the config's
# folder). Workers listen on loopback ports the system picks and stop when this script ends.
set -euo pipefail
config=${1:?usage: runners/local.sh CONFIG [sweep run arguments]}
shift
here=$(cd "$(dirname "$0")/.." && pwd)
sweep=(node "$here/bin/sweep.js")
read -ra devices <<<"${DEVICES:-cpu}"
model_root=${MODEL_ROOT:-$(dirname "$config")}
state=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$state"
}
trap cleanup EXIT

for i in "${!devices[@]}"; do
  args=(worker --listen 127.0.0.1:0 --devices "${devices[$i]}" --model-root "$model_root")
  [[ -n "${THREADS:-}" ]] && args+=(--threads "$THREADS")
  "${sweep[@]}" "${args[@]}" >"$state/worker-$i.out" 2>"$state/worker-$i.log" &
  pids+=($!)
done

# Each worker prints {"listening":"HOST:PORT"} once it serves.
for i in "${!devices[@]}"; do
  for _ in $(seq 300); do
    grep -q listening "$state/worker-$i.out" 2>/dev/null && break
    kill -0 "${pids[$i]}" 2>/dev/null || { cat "$state/worker-$i.log" >&2; echo "runners/local.sh: worker for device ${devices[$i]} exited" >&2; exit 1; }
    sleep 0.1
  done
  sed -E 's/.*"listening":"([^"]+)".*/\1/' "$state/worker-$i.out" >>"$state/workers.txt"
done
echo "runners/local.sh: ${#devices[@]} worker(s): $(paste -sd' ' "$state/workers.txt")" >&2

"${sweep[@]}" run "$config" --workers-file "$state/workers.txt" "$@"
