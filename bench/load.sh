#!/usr/bin/env bash
# One load run, three targets, the same wrk load (see docs/benchmarks.md):
#   (a) the fake upstream directly, (b) a bare YARP pass-through in front of it (bench/Sluice.Bench.Passthrough),
#   (c) Sluice in front of it, with its shipped per-request Information log (stdout to a file).
# For each: requests/s, p50/p99 latency, non-2xx and socket errors (must be 0), and CPU time per request of the
# target process, read from /proc/<pid>/stat (utime + stime) before and after the measured run.
# Everything runs on 127.0.0.1 and is stopped on exit. What matters are the ratios within one run.
#
# Settings (environment): THREADS=2 CONNECTIONS=32 DURATION=15s WARMUP=30s REWARM=5s ROUNDS=1 SLICES=1 NO_BUILD=0 KEEP=0
#   WARMUP is long enough for the JIT to finish under this load: Sluice keeps compiling its last tier for about 20 s
#   (about 13,500 methods; counted from its perf map, docs/benchmarks.md), and a shorter warm-up measures that.
#   REWARM is the warm-up before each measured run after the first round (the JIT is done by then; it only opens
#   the connections and brings the process back from idle), so that more rounds fit into the same time.
#   ROUNDS=N repeats (a) (b) (c) N times in one run (the order of b and c alternates) and summarizes the spread.
#   KEEP=1 keeps the work folder (logs of every process) instead of deleting it.
#   SLICES=N measures the pass-through and Sluice in N alternating runs of DURATION/N each within every round, instead
#   of one run each after the other, so that drift in the machine's speed during a round falls on both alike (p50 is then
#   the requests-weighted mean of the slices', p99 the worst slice's). The default, 1, is the run the targets were set on.
#   SLUICE_ARGS='...' adds arguments to Sluice's command line, for diagnosis only (the targets are judged on Sluice as
#   shipped), e.g. SLUICE_ARGS=--Sluice:AccessLog:Enabled=false measures Sluice without its access log.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-32}
DURATION=${DURATION:-15s}
WARMUP=${WARMUP:-30s}
REWARM=${REWARM:-5s}
ROUNDS=${ROUNDS:-1}
NO_BUILD=${NO_BUILD:-0}
KEEP=${KEEP:-0}
SLUICE_ARGS=${SLUICE_ARGS:-}
SLICES=${SLICES:-1}
[[ "$DURATION" =~ ^[0-9]+s$ ]] || { echo "DURATION must be whole seconds, e.g. 15s (was $DURATION)" >&2; exit 2; }
seconds=${DURATION%s}
slice_seconds=$(( seconds / SLICES ))
[ "$SLICES" -ge 1 ] && [ "$slice_seconds" -ge 1 ] || { echo "SLICES must be 1 to the DURATION's seconds (was $SLICES)" >&2; exit 2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# fail, cleanup, free_port, wait_http, start_fake (and fake_dll), cpu_ticks, machine_ticks, idle_busy_percent, create_key, probe_chat
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
for tool in wrk curl dotnet ss awk getconf; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed (wrk: apt-get install wrk)"
done

work=$(mktemp -d /tmp/sluice-load.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine: $(nproc) cores, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$SLUICE_ARGS" ] && echo "== DIAGNOSTIC RUN: Sluice started with extra arguments: $SLUICE_ARGS (not Sluice as shipped)"
echo "== load: wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (warm-up $WARMUP, then $REWARM after round 1, not counted), $ROUNDS round(s)$([ "$SLICES" -gt 1 ] && echo ", pass-through and Sluice measured in $SLICES alternating slices of ${slice_seconds}s each")"

if [ "$NO_BUILD" != 1 ]; then
  echo "== building (Release)"
  for project in tests/Sluice.FakeUpstream/Sluice.FakeUpstream.csproj bench/Sluice.Bench.Passthrough/Sluice.Bench.Passthrough.csproj src/Sluice/Sluice.csproj; do
    dotnet build -c Release "$project" -v quiet -nologo > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build of $project"; }
  done
fi
pass_dll=bench/Sluice.Bench.Passthrough/bin/Release/net10.0/Sluice.Bench.Passthrough.dll
sluice_dll=src/Sluice/bin/Release/net10.0/sluice.dll
for dll in "$fake_dll" "$pass_dll" "$sluice_dll"; do [ -f "$dll" ] || fail "$dll is missing (build first)"; done

start_fake

pass_port=$(free_port)
dotnet "$pass_dll" --urls "http://127.0.0.1:$pass_port" --upstream "http://127.0.0.1:$fake_port" > "$work/passthrough.log" 2>&1 &
pass_pid=$!; pids+=("$pass_pid")
wait_http "http://127.0.0.1:$pass_port/_fake/stats" "$pass_pid" passthrough

sluice_port=$(free_port)
admin_token="bench-admin-$RANDOM$RANDOM"
# Logging as shipped (one access-log line per request on standard output); stdout goes to $work/sluice.log.
dotnet "$sluice_dll" serve --urls "http://127.0.0.1:$sluice_port" --upstream "http://127.0.0.1:$fake_port" \
  --upstream-key sk-bench-upstream --data-dir "$work/data" --admin-token "$admin_token" \
  --Sluice:Plans:free:Limits:0:Requests=1000000000 $SLUICE_ARGS > "$work/sluice.log" 2>&1 &
sluice_pid=$!; pids+=("$sluice_pid")
wait_http "http://127.0.0.1:$sluice_port/healthz" "$sluice_pid" sluice

SLUICE_BENCH_KEY=$(create_key "$sluice_port" "$admin_token")
export SLUICE_BENCH_KEY

# One request through each target: it must be a 200 before any load is sent.
for port in "$fake_port" "$pass_port" "$sluice_port"; do
  probe_chat "$port" "$SLUICE_BENCH_KEY"
done

# warm NAME PORT: the warm-up before a target's measured run(s) (WARMUP in round 1, REWARM after).
warm() {
  local warm=$WARMUP
  [ "$round" -gt 1 ] && warm=$REWARM
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"$warm" --timeout 10s -s bench/chat.lua "http://127.0.0.1:$2/v1/chat/completions" > "$work/warmup-$1.txt" 2>&1 \
    || fail "warm-up of $1: $(cat "$work/warmup-$1.txt")"
}

# run NAME PORT PID SECONDS: one measured wrk run; adds its requests, time, latencies and CPU ticks to NAME's totals.
declare -A tot_n tot_err tot_us tot_p50 tot_p99 tot_t tot_f tot_m tot_w
run() {
  local name=$1 port=$2 pid=$3 url="http://127.0.0.1:$2/v1/chat/completions"
  local t0 f0 m0 t1 f1 m1
  t0=$(cpu_ticks "$pid"); f0=$(cpu_ticks "$fake_pid"); m0=$(machine_ticks)
  local TIMEFORMAT='%U %S'
  { time wrk -t"$THREADS" -c"$CONNECTIONS" -d"$4s" --timeout 10s --latency -s bench/chat.lua "$url" > "$work/run-$name.txt" 2>&1; } 2> "$work/time-$name.txt" \
    || fail "wrk against $name: $(cat "$work/run-$name.txt")"
  t1=$(cpu_ticks "$pid"); f1=$(cpu_ticks "$fake_pid"); m1=$(machine_ticks)
  local result
  result=$(grep '^RESULT ' "$work/run-$name.txt") || fail "no RESULT line from wrk for $name: $(cat "$work/run-$name.txt")"
  cat "$work/run-$name.txt" >> "$work/wrk-output.txt"
  # shellcheck disable=SC2086
  local $(sed 's/^RESULT //' <<<"$result")
  if [ "$status_errors" -ne 0 ] || [ "$connect" -ne 0 ] || [ "$read" -ne 0 ] || [ "$write" -ne 0 ] || [ "$timeout" -ne 0 ]; then
    cat "$work/run-$name.txt" >&2
    fail "$name: $status_errors non-2xx answers, socket errors connect=$connect read=$read write=$write timeout=$timeout"
  fi
  tot_n[$name]=$(( ${tot_n[$name]:-0} + requests )); tot_err[$name]=$(( ${tot_err[$name]:-0} + status_errors ))
  tot_us[$name]=$(( ${tot_us[$name]:-0} + duration_us ))
  # Latency over several runs: p50 weighted by each run's requests, p99 the worst run's (not a true merged percentile).
  tot_p50[$name]=$(( ${tot_p50[$name]:-0} + p50_us * requests )); [ "$p99_us" -gt "${tot_p99[$name]:-0}" ] && tot_p99[$name]=$p99_us
  tot_t[$name]=$(( ${tot_t[$name]:-0} + t1 - t0 )); tot_f[$name]=$(( ${tot_f[$name]:-0} + f1 - f0 )); tot_m[$name]=$(( ${tot_m[$name]:-0} + m1 - m0 ))
  tot_w[$name]=$(awk -v a="${tot_w[$name]:-0}" '{ print a + $1 + $2 }' "$work/time-$name.txt")
}

# row NAME PID: appends NAME's totals as one row to $work/rows and clears them.
row() {
  local name=$1
  awk -v name="$name" -v n="${tot_n[$name]}" -v errors="${tot_err[$name]}" -v us="${tot_us[$name]}" -v p50="$(( tot_p50[$name] / tot_n[$name] ))" -v p99="${tot_p99[$name]}" \
      -v t="${tot_t[$name]}" -v f="${tot_f[$name]}" -v m="${tot_m[$name]}" -v w="${tot_w[$name]}" -v hz="$hz" -v self="$([ "$2" = "$fake_pid" ] && echo 1 || echo 0)" '
    BEGIN {
      target = t / hz; fake = f / hz; machine = m / hz
      other = machine - (self ? target : target + fake) - w
      printf "%s %.1f %.2f %.2f %d %d %.1f %.1f %.1f %.2f %.2f\n", name, n / (us / 1e6), p50 / 1000, p99 / 1000, n, errors,
        target * 1e6 / n, fake * 1e6 / n, w * 1e6 / n, other, machine
    }' >> "$work/rows"
  unset "tot_n[$name]" "tot_err[$name]" "tot_us[$name]" "tot_p50[$name]" "tot_p99[$name]" "tot_t[$name]" "tot_f[$name]" "tot_m[$name]" "tot_w[$name]"
}

# measure NAME PORT PID: warm-up, then the measured run; appends one row.
measure() {
  warm "$1" "$2"
  run "$1" "$2" "$3" "$seconds"
  row "$1" "$3"
}

# measure_sliced: the pass-through and Sluice warmed, then measured in SLICES alternating runs of DURATION/SLICES
# each, so that both see the machine in the same states (its speed drifts within a run: the fake's own CPU per
# request has ranged 28-49 µs across the rounds of one run); one row each, over all their slices.
measure_sliced() {
  warm passthrough "$pass_port"; warm sluice "$sluice_port"
  local slice
  for slice in $(seq "$SLICES"); do
    if [ $(((round + slice) % 2)) -eq 0 ]; then
      run passthrough "$pass_port" "$pass_pid" "$slice_seconds"; run sluice "$sluice_port" "$sluice_pid" "$slice_seconds"
    else
      run sluice "$sluice_port" "$sluice_pid" "$slice_seconds"; run passthrough "$pass_port" "$pass_pid" "$slice_seconds"
    fi
  done
  row passthrough "$pass_pid"; row sluice "$sluice_pid"
}

# Anything else running skews every figure: say how busy the machine is while our processes idle.
idle_busy=$(idle_busy_percent)
echo "== machine busy while the targets idle: ${idle_busy}% of $(nproc) cores$([ "$idle_busy" -gt 10 ] && echo ' -- WARNING: other work is running; the figures will be skewed')"

: > "$work/rows"
for round in $(seq "$ROUNDS"); do
  echo "== round $round/$ROUNDS"
  measure fake "$fake_port" "$fake_pid"
  if [ "$SLICES" -gt 1 ]; then
    measure_sliced
  elif [ $((round % 2)) -eq 1 ]; then
    measure passthrough "$pass_port" "$pass_pid"
    measure sluice "$sluice_port" "$sluice_pid"
  else
    measure sluice "$sluice_port" "$sluice_pid"
    measure passthrough "$pass_port" "$pass_pid"
  fi
done

logged=$(grep -c 'path=/v1/chat/completions status=200' "$work/sluice.log" || true)

echo
echo "target columns: req/s, latency p50/p99 (ms), requests in the measured run, CPU per request (µs) of the target"
echo "process (for 'fake' the fake itself), of the fake upstream, of wrk; CPU seconds used by anything else; machine busy CPU s"
awk -v rounds="$ROUNDS" '
  BEGIN { printf "%-6s %-12s %10s %9s %9s %9s %7s %11s %9s %9s %9s %9s\n", "round", "target", "req/s", "p50 ms", "p99 ms", "requests", "non-2xx", "target CPU", "fake CPU", "wrk CPU", "other s", "busy s" }
  {
    row = int((NR - 1) / 3) + 1
    printf "%-6d %-12s %10.0f %9.2f %9.2f %9d %7d %8.1f µs %6.1f µs %6.1f µs %9.2f %9.2f\n", row, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
    rps[row, $1] = $2; cpu[row, $1] = $7
    # All rounds together: mean req/s, and CPU per request over every request of the target.
    sumrps[$1] += $2; sumcpu[$1] += $7 * $5; sumn[$1] += $5
  }
  END {
    print ""
    printf "%-6s %26s %26s\n", "round", "Sluice/passthrough req/s", "Sluice/passthrough CPU/req"
    minr = 1e9; maxr = 0; minc = 1e9; maxc = 0
    for (r = 1; r <= rounds; r++) {
      tr = rps[r, "sluice"] / rps[r, "passthrough"]; tc = cpu[r, "sluice"] / cpu[r, "passthrough"]
      printf "%-6d %26.3f %26.3f\n", r, tr, tc
      if (tr < minr) minr = tr; if (tr > maxr) maxr = tr; if (tc < minc) minc = tc; if (tc > maxc) maxc = tc
      okr += (tr >= 0.80); okc += (tc <= 1.25)
    }
    print ""
    printf "Target: Sluice >= 0.80 x pass-through throughput: %s (%.3f to %.3f; met in %d of %d rounds)\n", (okr == rounds ? "MET" : "MISSED"), minr, maxr, okr, rounds
    printf "Target: Sluice <= 1.25 x pass-through CPU/request: %s (%.3f to %.3f; met in %d of %d rounds)\n", (okc == rounds ? "MET" : "MISSED"), minc, maxc, okc, rounds
    if (rounds > 1) {
      ar = sumrps["sluice"] / sumrps["passthrough"]; ac = (sumcpu["sluice"] / sumn["sluice"]) / (sumcpu["passthrough"] / sumn["passthrough"])
      printf "All %d rounds together (mean req/s; CPU over every request): throughput %.3f (%s), CPU/request %.3f (%s); Sluice %.1f µs, pass-through %.1f µs per request\n",
        rounds, ar, (ar >= 0.80 ? "met" : "missed"), ac, (ac <= 1.25 ? "met" : "missed"), sumcpu["sluice"] / sumn["sluice"], sumcpu["passthrough"] / sumn["passthrough"]
    }
  }' "$work/rows"
echo
echo "Sluice logged $logged 'path=/v1/chat/completions status=200' lines (stdout to a file); load average now $(cut -d' ' -f1-3 /proc/loadavg)"
