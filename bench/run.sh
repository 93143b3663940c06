#!/usr/bin/env bash
# bench/run.sh - time from `run -d` to the first HTTP 200 of the docs tutorial image (examples/python-docker,
# Flask on :5000), slipway vs `podman run` (Debian's podman 4.3 with runc), median of RUNS each.
# Issue target: slipway <= 1.0x podman.
#
# Setup (idempotent, all in $BENCH_WORK, default /var/tmp/slipway-benchrun):
#  - the offline hub's base images imported into slipway's store ($BENCH_WORK/root) and examples/python-docker
#    built there as python-docker;
#  - a private podman storage ($BENCH_WORK/podman: --root/--runroot, runc, cgroupfs, overlay) holding the SAME hub
#    rootfs tarball imported as docker.io/library/python:3.8-slim-buster with the same Env/Cmd, and the same
#    context built with `podman build --network host`;  CONTAINERS_CONF points at a private copy of the
#    rlimit/runc workaround peers.sh writes (/work/shared/peers/peers.sh: no CAP_SYS_RESOURCE, hybrid cgroups);
#  - the PEP 503 index on 127.0.0.1:3141 (the images' pip.conf points there): reused when something already
#    answers /simple/flask/ there, else fixtures/hub/serve.mjs is started and stopped (by PID) at exit.
# Measurement (one node process per round, see POLL_JS): pick a free port, start `run -d -p PORT:5000`, poll
# http://127.0.0.1:PORT/ every 20 ms with http.get (no process spawn per probe) from the moment the CLI is
# spawned; sample = spawn -> first 200 whose body says "Hello". The CLI's own exit time is kept too.
# Cleanup (`rm -f`, untimed) after each sample. Tools are interleaved per round so load drift hits all alike.
# Usage: bash bench/run.sh     env: RUNS (5), WARMUP (1), LOAD_MAX (3), LOAD_WAIT (240), BENCH_WORK, PODMAN=0 skips podman
BENCH_WORK=${BENCH_WORK:-/var/tmp/slipway-benchrun}
SNAP_NAME=slipway-snapshot
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
PODMAN=${PODMAN:-1}
IMAGE=python-docker
CTX=$REPO/examples/python-docker
RESULTS_JSONL=$BENCH_WORK/run.jsonl
: > "$RESULTS_JSONL"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
HUB=$(bash "$REPO/fixtures/hub/build.sh" --print-dir)

slipway_has() { $SLIPWAY image inspect "$1" >/dev/null 2>&1; }
[[ -e $HUB/READY ]] || { blog "hub not built: run 'bash fixtures/hub/build.sh' as root first"; exit 1; }

PW=$BENCH_WORK/podman
export CONTAINERS_CONF=$PW/containers.conf
PODMAN_CMD="podman --root $PW/root --runroot $PW/run --runtime runc --cgroup-manager cgroupfs --storage-driver overlay"

INDEX_PID=""
cleanup() {
  if [[ -n $INDEX_PID ]] && kill -0 "$INDEX_PID" 2>/dev/null; then kill "$INDEX_PID"; fi
}
trap cleanup EXIT

ensure_flask_index() {
  if curl -fsS -o /dev/null "http://127.0.0.1:$INDEX_PORT/simple/flask/" 2>/dev/null; then
    blog "reusing the index answering on 127.0.0.1:$INDEX_PORT"
    return 0
  fi
  node "$REPO/fixtures/hub/serve.mjs" --dir "$HUB" --port "$INDEX_PORT" > "$BENCH_WORK/index.log" 2>&1 &
  INDEX_PID=$!
  for _ in $(seq 50); do
    curl -fsS -o /dev/null "http://127.0.0.1:$INDEX_PORT/simple/flask/" 2>/dev/null && return 0
    sleep 0.1
  done
  blog "index did not come up, see $BENCH_WORK/index.log"
  return 1
}

slipway_setup() {
  slipway_has python:3.8-slim-buster || node "$REPO/fixtures/hub/import.mjs" "$HUB" --root "$SROOT" >/dev/null
  if ! slipway_has "$IMAGE"; then
    blog "slipway build -t $IMAGE $CTX"
    $SLIPWAY build -t "$IMAGE" "$CTX" > "$BENCH_WORK/slipway-build.log" 2>&1 ||
      { tail -20 "$BENCH_WORK/slipway-build.log" >&2; exit 1; }
  fi
}

podman_setup() {
  mkdir -p "$PW"
  # the workaround peers.sh installs in /etc/containers/containers.conf, kept private to this benchmark
  cat > "$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  if ! $PODMAN_CMD image exists docker.io/library/python:3.8-slim-buster; then
    blog "podman import of the hub's python rootfs"
    $PODMAN_CMD import --quiet \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'CMD ["python3"]' \
      "$HUB/rootfs/python-3.11-slim.tar" docker.io/library/python:3.8-slim-buster >/dev/null
  fi
  if ! $PODMAN_CMD image exists "localhost/$IMAGE:latest"; then
    blog "podman build -t $IMAGE $CTX"
    $PODMAN_CMD build --network host --pull=never -t "$IMAGE" "$CTX" > "$BENCH_WORK/podman-build.log" 2>&1 ||
      { tail -20 "$BENCH_WORK/podman-build.log" >&2; exit 1; }
  fi
}

# One sample: node spawns the CLI and polls the port; prints one JSON object.
# argv: PORT CMD   (CMD run with /bin/sh -c 'exec CMD'); env TIMEOUT_MS
read -r -d '' POLL_JS <<'EOF' || true
import { spawn } from 'node:child_process';
import { get } from 'node:http';
const [port, cmd] = process.argv.slice(1);
const timeoutMs = Number(process.env.TIMEOUT_MS ?? 60000);
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
let cliMs = null, cliStatus = null, firstMs = null, probes = 0, stderr = '';
const child = spawn('/bin/sh', ['-c', `exec ${cmd}`], { stdio: ['ignore', 'ignore', 'pipe'] });
child.stderr.on('data', (d) => { stderr += d; });
const cliDone = new Promise((res) => child.on('exit', (code, sig) => { cliMs = ms(); cliStatus = code ?? sig; res(); }));
const probe = () => new Promise((res) => {
  probes++;
  const req = get({ host: '127.0.0.1', port: Number(port), path: '/', timeout: 1000, agent: false }, (r) => {
    let body = '';
    r.setEncoding('utf8');
    r.on('data', (c) => { body += c; });
    r.on('end', () => res(r.statusCode === 200 && body.includes('Hello')));
    r.on('error', () => res(false));
  });
  req.on('timeout', () => req.destroy());
  req.on('error', () => res(false));
});
const sleep = (n) => new Promise((r) => setTimeout(r, n));
while (ms() < timeoutMs) {
  const tp = ms();
  if (await probe()) { firstMs = ms(); break; }
  if (cliStatus !== null && cliStatus !== 0) break;
  await sleep(Math.max(0, 20 - (ms() - tp)));
}
await Promise.race([cliDone, sleep(Math.max(0, timeoutMs - ms()))]);
const r = (x) => (x === null ? null : Math.round(x * 10) / 10);
console.log(JSON.stringify({ firstMs: r(firstMs), cliMs: r(cliMs), cliStatus, probes, stderr: firstMs === null ? stderr.slice(-1500) : undefined }));
// the race's sleep timer would keep the loop alive until the timeout
process.exit(0);
EOF

free_port() { node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

# sample TOOL ROUND: prints the JSON line (also appended to $RESULTS_JSONL)
sample() {
  local tool=$1 round=$2 port name cmd rmcmd line
  port=$(free_port)
  name=bench-run-$tool-$round-$$
  case $tool in
    slipway) cmd="$SLIPWAY run -d -p $port:5000 --name $name $IMAGE"; rmcmd="$SLIPWAY rm -f $name" ;;
    slipway-init) cmd="$SLIPWAY run -d --init -p $port:5000 --name $name $IMAGE"; rmcmd="$SLIPWAY rm -f $name" ;;
    podman) cmd="$PODMAN_CMD run -d -p $port:5000 --name $name localhost/$IMAGE"; rmcmd="$PODMAN_CMD rm -f -t 0 $name" ;;
  esac
  line=$(node --input-type=module -e "$POLL_JS" "$port" "$cmd")
  $rmcmd >/dev/null 2>&1 || blog "$tool: '$rmcmd' failed"
  line=$(node -e 'const o = JSON.parse(process.argv[1]); console.log(JSON.stringify({ tool: process.argv[2], round: Number(process.argv[3]), port: Number(process.argv[4]), ...o, load1: Number(process.argv[5]), command: process.argv[6] }))' \
    "$line" "$tool" "$round" "$port" "$(load1)" "$cmd")
  echo "$line" >> "$RESULTS_JSONL"
  echo "$line"
}

ensure_flask_index
slipway_setup
tools=(slipway slipway-init)
if [[ $PODMAN == 1 ]] && command -v podman >/dev/null && command -v runc >/dev/null; then
  podman_setup
  tools+=(podman)
else
  blog "podman peer skipped"
fi

LOAD_BEFORE=$(wait_load)
blog "load $LOAD_BEFORE; $WARMUP warm-up + $RUNS timed rounds of: ${tools[*]}"
for ((w = 0; w < WARMUP; w++)); do
  for t in "${tools[@]}"; do sample "$t" "w$w" > /dev/null; done
done
: > "$RESULTS_JSONL"
for ((i = 1; i <= RUNS; i++)); do
  wait_load > /dev/null
  for t in "${tools[@]}"; do
    line=$(sample "$t" "$i")
    blog "  round $i $t: $(node -e 'const o = JSON.parse(process.argv[1]); console.log(`first 200 ${o.firstMs} ms, CLI exit ${o.cliMs} ms (status ${o.cliStatus}), load ${o.load1}`)' "$line")"
  done
done

# ---- report ----
stats() {  # stats TOOL FIELD -> median (ms) or '-'
  node -e '
    const [file, tool, field] = process.argv.slice(1);
    const xs = require("node:fs").readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .filter((o) => o.tool === tool).map((o) => o[field]);
    const ok = xs.filter((x) => x !== null);
    if (!ok.length) { console.log("-"); process.exit(0); }
    const s = [...ok].sort((a, b) => a - b), m = s.length >> 1;
    console.log(s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);' "$RESULTS_JSONL" "$1" "$2"
}
samples() { node -e '
    const [file, tool, field] = process.argv.slice(1);
    console.log(require("node:fs").readFileSync(file, "utf8").trim().split("\n").map((l) => JSON.parse(l))
      .filter((o) => o.tool === tool).map((o) => o[field]).join(" "));' "$RESULTS_JSONL" "$1" "$2"; }
declare -A F C
for t in "${tools[@]}"; do F[$t]=$(stats "$t" firstMs); C[$t]=$(stats "$t" cliMs); done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

report() {
  local t
  echo "## run.sh: \`run -d\` to first HTTP 200, docs tutorial image (slipway vs podman)"
  echo
  machine_facts | sed "s/^- load average at start: .*/- load average: $LOAD_START at start, $LOAD_BEFORE (1-min) when the timed rounds began, $LOAD_END at the end; each round waited for 1-min load <= $LOAD_MAX for at most ${LOAD_WAIT}s/"
  echo "- image: examples/python-docker (Flask 2.2.2, \`python3 -m flask run --host=0.0.0.0\`), built by each tool from the same context on the hub's python rootfs ($HUB/rootfs/python-3.11-slim.tar, same Env/Cmd)"
  echo "- podman $(podman --version | awk '{print $3}') + runc $(runc --version | awk 'NR==1 {print $3}'), private storage $PW (overlay, cgroupfs, netavark port forwarding); slipway: rootless-style slirp4netns port forwarding"
  echo "- sample: a node process spawns \`CMD\` and polls http://127.0.0.1:PORT/ with http.get every 20 ms from the spawn; time = spawn -> first 200 with 'Hello' in the body. Fresh free port and name per sample; \`rm -f\` after each (untimed). $WARMUP warm-up round + $RUNS timed rounds, tools interleaved per round"
  echo
  echo "| tool | median to first 200 (s) | median CLI exit (s) | samples to first 200 (ms) | command |"
  echo "|---|---|---|---|---|"
  for t in "${tools[@]}"; do
    local c
    case $t in
      slipway) c="slipway run -d -p PORT:5000 --name N $IMAGE" ;;
      slipway-init) c="slipway run -d --init -p PORT:5000 --name N $IMAGE" ;;
      podman) c="podman run -d -p PORT:5000 --name N localhost/$IMAGE" ;;
    esac
    echo "| $t | $(fmt_s "${F[$t]}") | $(fmt_s "${C[$t]}") | $(samples "$t" firstMs) | \`$c\` |"
  done
  echo
  if [[ -n ${F[podman]:-} ]]; then
    local r; r=$(ratio "${F[slipway]}" "${F[podman]}")
    echo "- ratio slipway/podman (first 200): **$r**; with --init: $(ratio "${F[slipway-init]}" "${F[podman]}")"
    [[ $r != - ]] && echo "- target slipway <= 1.0x podman: $(verdict "$r" '<=' 1.0)"
    echo "- failed samples (no 200 within 60 s; excluded from the medians): $(grep -c '"firstMs":null' "$RESULTS_JSONL" || true)"
  fi
  echo
  raw_samples "$RESULTS_JSONL"
}
report | tee "$BENCH_WORK/run-report.md" | node "$BENCH_DIR/lib/results.mjs" run
cat "$BENCH_WORK/run-report.md"
