#!/usr/bin/env bash
# The Redis limiter through the whole gateway (see docs/benchmarks.md, section 4): Sluice embedded and Sluice with
# --redis, side by side in front of the same fake upstream, each driven at the same FIXED rate by an open-loop
# generator (bench/Sluice.Bench.Load; latency from each request's scheduled time). For each: achieved req/s,
# p50/p99/p99.9 end-to-end latency, CPU per request of Sluice, the fake and redis-server, and for the Redis one the
# decision duration histogram from Sluice's own /metrics (sluice_limiter_decision_duration_seconds{backend="redis"},
# read before and after the measured run). Also the TCP connections from Sluice to Redis.
# Everything runs on 127.0.0.1 and is stopped on exit.
#
# Settings (environment): RATES="5000" DURATION=20 WARMUP=10 ROUNDS=1 CONNECTIONS=256 NO_BUILD=0 KEEP=0
#   RATES="5000 3000" measures each rate in turn (e.g. the target and a rate the machine sustains).
#   ROUNDS=N repeats everything N times (the order of embedded and redis alternates).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

RATES=${RATES:-5000}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-10}
ROUNDS=${ROUNDS:-1}
CONNECTIONS=${CONNECTIONS:-256}
NO_BUILD=${NO_BUILD:-0}
KEEP=${KEEP:-0}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# fail, cleanup, free_port, wait_http, start_fake (and fake_dll), cpu_ticks, machine_ticks, idle_busy_percent, create_key, probe_chat
# shellcheck source=bench/lib.sh
source "$root/bench/lib.sh"
for tool in curl dotnet ss awk getconf redis-server redis-cli; do
  command -v "$tool" >/dev/null || fail "'$tool' is not installed"
done

work=$(mktemp -d /tmp/sluice-redis-load.XXXXXX)
pids=()
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== machine: $(nproc) cores, $(awk -F: '/model name/ { print $2; exit }' /proc/cpuinfo | sed 's/^ *//'), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== load: open loop, ${RATES// /, } req/s for ${DURATION}s each (warm-up ${WARMUP}s not counted), up to $CONNECTIONS connections, $ROUNDS round(s)"

if [ "$NO_BUILD" != 1 ]; then
  echo "== building (Release)"
  for project in tests/Sluice.FakeUpstream/Sluice.FakeUpstream.csproj src/Sluice/Sluice.csproj bench/Sluice.Bench.Load/Sluice.Bench.Load.csproj; do
    dotnet build -c Release "$project" -v quiet -nologo > "$work/build.log" 2>&1 || { cat "$work/build.log" >&2; fail "build of $project"; }
  done
fi
sluice_dll=src/Sluice/bin/Release/net10.0/sluice.dll
load_dll=bench/Sluice.Bench.Load/bin/Release/net10.0/Sluice.Bench.Load.dll
for dll in "$fake_dll" "$sluice_dll" "$load_dll"; do [ -f "$dll" ] || fail "$dll is missing (build first)"; done

start_fake

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --loglevel warning > "$work/redis-server.log" 2>&1 &
redis_pid=$!; pids+=("$redis_pid")
for _ in $(seq 100); do
  [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
  kill -0 "$redis_pid" 2>/dev/null || { cat "$work/redis-server.log" >&2; fail "redis-server exited during start-up"; }
  sleep 0.1
done
[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] || fail "redis-server did not answer on port $redis_port"

admin_token="bench-admin-$RANDOM$RANDOM"
# start_sluice NAME [ARGS...]: Sluice as shipped (one Information log line per request, stdout to $work/NAME.log),
# with a key limit that is never reached; sets port_NAME, pid_NAME and key_NAME.
start_sluice() {
  local name=$1 port pid key
  shift
  port=$(free_port)
  dotnet "$sluice_dll" serve --urls "http://127.0.0.1:$port" --upstream "http://127.0.0.1:$fake_port" \
    --upstream-key sk-bench-upstream --data-dir "$work/data-$name" --admin-token "$admin_token" \
    --Sluice:Plans:free:Limits:0:Requests=1000000000 "$@" > "$work/$name.log" 2>&1 &
  pid=$!; pids+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$name"
  printf -v "port_$name" '%s' "$port"
  printf -v "pid_$name" '%s' "$pid"
  key=$(create_key "$port" "$admin_token")
  printf -v "key_$name" '%s' "$key"
}
start_sluice embedded
start_sluice redis --redis "127.0.0.1:$redis_port"
# shellcheck disable=SC2154
probe_chat "$port_embedded" "$key_embedded"
# shellcheck disable=SC2154
probe_chat "$port_redis" "$key_redis"

idle_busy=$(idle_busy_percent)
echo "== machine busy while the targets idle: ${idle_busy}% of $(nproc) cores$([ "$idle_busy" -gt 10 ] && echo ' -- WARNING: other work is running; the figures will be skewed')"

# measure NAME RATE: warm-up and measured run of the generator against Sluice NAME; appends its RESULT line to $work/rows.
measure() {
  local name=$1 rate=$2 port pid key
  port=port_$name; pid=pid_$name; key=key_$name
  nice -n -10 dotnet "$load_dll" --label "$name" --url "http://127.0.0.1:${!port}/v1/chat/completions" --key "${!key}" \
    --rate "$rate" --seconds "$DURATION" --warmup "$WARMUP" --connections "$CONNECTIONS" \
    --metrics "http://127.0.0.1:${!port}/metrics" --pids "sluice=${!pid},fake=$fake_pid,redis=$redis_pid" \
    > "$work/run-$name-$rate.txt" 2>&1 || true
  # Non-2xx answers and timeouts (a rate the stack cannot sustain) are reported, not fatal; no RESULT line is.
  grep -q '^RESULT ' "$work/run-$name-$rate.txt" || { cat "$work/run-$name-$rate.txt" >&2; fail "load against $name at $rate req/s"; }
  grep -v '^RESULT ' "$work/run-$name-$rate.txt"
  echo "round=$round $(grep '^RESULT ' "$work/run-$name-$rate.txt")" >> "$work/rows"
}

: > "$work/rows"
for round in $(seq "$ROUNDS"); do
  for rate in $RATES; do
    echo "== round $round/$ROUNDS, $rate req/s"
    if [ $((round % 2)) -eq 1 ]; then
      measure embedded "$rate"; measure redis "$rate"
    else
      measure redis "$rate"; measure embedded "$rate"
    fi
  done
done

echo
echo "== connections to redis-server (127.0.0.1:$redis_port) while Sluice (redis) is up: TCP (ss) and CLIENT LIST"
ss -Htn state established "( dport = :$redis_port )" | awk '{ print "   " $0 }'
connections=$(ss -Htn state established "( dport = :$redis_port )" | wc -l)
redis-cli -p "$redis_port" CLIENT LIST | awk '{ printf "   "; for (i = 1; i <= NF; i++) if ($i ~ /^(id|addr|name|age|sub|cmd)=/) printf "%s ", $i; print "" }'

echo
echo "columns: achieved req/s; end-to-end latency from the scheduled time (ms); CPU per request (µs) of Sluice, the fake,"
echo "redis-server and the generator; the decision histogram p99 (backend=redis, interpolated, and the bucket's upper bound);"
echo "local = decisions the Redis Sluice took with its embedded fallback (circuit open after Redis timeouts), should be 0"
awk -v connections="$connections" '
  {
    delete f
    for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
    n++; round[n] = f["round"]; name[n] = f["label"]; rate[n] = f["rate"]; achieved[n] = f["achieved"]
    p50[n] = f["p50_us"] / 1000; p99[n] = f["p99_us"] / 1000; p999[n] = f["p999_us"] / 1000
    sluice[n] = f["cpu_sluice_us"]; fake[n] = f["cpu_fake_us"]; redis[n] = f["cpu_redis_us"]; load[n] = f["cpu_load_us"]; other[n] = f["other_s"]
    hist[n] = ("decision_redis_p99_us" in f) ? sprintf("%.3f (<= %g)", f["decision_redis_p99_us"] / 1000, f["decision_redis_p99_le_us"] / 1000) : "-"
    fallback[n] = ("decisions_local" in f) ? f["decisions_local"] : 0
    key = f["round"] " " f["rate"]; e2e99[key, f["label"]] = p99[n]; e2e50[key, f["label"]] = p50[n]
    ok[key, f["label"]] = f["sustained"] == 1
    if (f["label"] == "redis") { h99[key] = f["decision_redis_p99_le_us"] / 1000; local[key] = fallback[n] > 0 }
    if (!(key in seen)) { seen[key] = 1; keys[++k] = key }
  }
  END {
    printf "%-5s %-9s %6s %10s %8s %8s %9s %10s %9s %9s %9s %8s %18s %6s\n", "round", "target", "rate", "achieved", "p50 ms", "p99 ms", "p99.9 ms", "Sluice CPU", "fake CPU", "redis CPU", "load CPU", "other s", "decision p99 ms", "local"
    for (i = 1; i <= n; i++)
      printf "%-5s %-9s %6d %10.0f %8.2f %8.2f %9.2f %7.1f µs %6.1f µs %6.1f µs %6.1f µs %8.1f %18s %6d\n", round[i], name[i], rate[i], achieved[i], p50[i], p99[i], p999[i], sluice[i], fake[i], redis[i], load[i], other[i], hist[i], fallback[i]
    print ""
    printf "%-5s %6s %12s %22s %22s %22s\n", "round", "rate", "sustained", "redis - embedded p50", "redis - embedded p99", "decision p99 (bucket)"
    for (j = 1; j <= k; j++) {
      split(keys[j], rr, " ")
      sustained = (ok[keys[j], "embedded"] && ok[keys[j], "redis"]) ? "both" : (ok[keys[j], "embedded"] ? "embedded only" : (ok[keys[j], "redis"] ? "redis only" : "neither"))
      d50 = e2e50[keys[j], "redis"] - e2e50[keys[j], "embedded"]; d99 = e2e99[keys[j], "redis"] - e2e99[keys[j], "embedded"]
      printf "%-5s %6d %12s %19.2f ms %19.2f ms %19s ms\n", rr[1], rr[2], sustained, d50, d99, "<= " h99[keys[j]]
      met = (sustained == "both" && d99 <= 1 && h99[keys[j]] <= 1 && !local[keys[j]])
      verdict[rr[2]] = (rr[2] in verdict) ? verdict[rr[2]] && met : met
    }
    print ""
    for (r in verdict)
      printf "Target at %d req/s: the Redis decision adds <= 1 ms at p99 (both sustained: >= 99%% of the rate, all 2xx, p99 < 100 ms; histogram p99 bucket <= 1 ms; end-to-end p99 difference <= 1 ms; no fallback): %s\n", r, verdict[r] ? "MET" : "MISSED"
    printf "One multiplexed connection per process: %d TCP connection(s) from Sluice to Redis (see CLIENT LIST above for what each carries)\n", connections
  }' "$work/rows"
echo
grep -h 'SharedLimiter\|Redis limiter' "$work/redis.log" | sed 's/^/   /' || true
echo "Sluice logged $(grep -c 'path=/v1/chat/completions' "$work/embedded.log" || true) (embedded) and $(grep -c 'path=/v1/chat/completions' "$work/redis.log" || true) (redis) request lines; load average now $(cut -d' ' -f1-3 /proc/loadavg)"
