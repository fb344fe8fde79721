# Helpers shared by the load scripts in bench/ (sourced, not run). The script sets `work` (its temporary folder,
# deleted on success unless KEEP=1) and appends the pid of every process it starts to the array `pids`;
# `trap cleanup EXIT` then stops them all, also on failure or Ctrl-C.

fail() { echo "${0##*/}: FAILED: $*" >&2; exit 1; }

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ] || [ "$status" -ne 0 ]; then
    echo "logs kept in $work" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}

# A TCP port no socket uses (listening or connected: a port held by an outgoing connection cannot be bound either).
free_port() {
  local port
  while true; do
    port=$((20000 + RANDOM % 30000))
    if [ -z "$(ss -Htan "sport = :$port")" ]; then echo "$port"; return; fi
  done
}

# Waits until URL answers (any HTTP status) while the process PID is alive; at most 60 s.
wait_http() {
  local url=$1 pid=$2 name=$3
  for _ in $(seq 600); do
    kill -0 "$pid" 2>/dev/null || { cat "$work/$name.log" >&2 || true; fail "$name exited during start-up"; }
    if curl -s -o /dev/null --max-time 1 "$url"; then return; fi
    sleep 0.1
  done
  fail "$name did not answer at $url within 60 s"
}

# The fake upstream, built (relative to the repository root, where the scripts run).
fake_dll=tests/Sluice.FakeUpstream/bin/Release/net10.0/Sluice.FakeUpstream.dll

# Starts the fake upstream on a free port; sets fake_port and fake_pid.
start_fake() {
  fake_port=$(free_port)
  dotnet "$fake_dll" --port "$fake_port" --no-record --quiet > "$work/fake.log" 2>&1 &
  fake_pid=$!; pids+=("$fake_pid")
  wait_http "http://127.0.0.1:$fake_port/_fake/stats" "$fake_pid" fake
}

hz=$(getconf CLK_TCK)
# utime + stime of a process, in clock ticks (fields 14 and 15 of /proc/PID/stat; counted after the ')' of comm).
cpu_ticks() { sed -E 's/^.*\) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
# Busy ticks of the whole machine (all CPUs): user nice system irq softirq steal.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# How busy the machine is (percent of all cores, over 2 s) while nothing of ours is under load.
idle_busy_percent() {
  local m0 m1
  m0=$(machine_ticks); sleep 2; m1=$(machine_ticks)
  awk -v m="$((m1 - m0))" -v hz="$hz" -v cores="$(nproc)" 'BEGIN { printf "%.0f", 100 * m / hz / 2 / cores }'
}

# create_key PORT ADMIN_TOKEN: creates a key with POST /admin/keys on Sluice at 127.0.0.1:PORT and prints it.
create_key() {
  local created key
  created=$(curl -sS --max-time 10 -X POST -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d '{"name":"bench"}' -w '\n%{http_code}' "http://127.0.0.1:$1/admin/keys")
  [ "$(tail -n1 <<<"$created")" = 201 ] || fail "creating a key: $created"
  key=$(head -n1 <<<"$created" | sed -nE 's/.*"key":"([^"]+)".*/\1/p')
  [ -n "$key" ] || fail "no key in: $created"
  echo "$key"
}

# probe_chat PORT KEY: one chat completion through 127.0.0.1:PORT must be a 200.
probe_chat() {
  local status
  status=$(curl -s -o "$work/probe.json" -w '%{http_code}' --max-time 10 -X POST \
    -H "Authorization: Bearer $2" -H 'Content-Type: application/json' \
    -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}' "http://127.0.0.1:$1/v1/chat/completions")
  [ "$status" = 200 ] || fail "probe of 127.0.0.1:$1 answered $status: $(cat "$work/probe.json")"
}
