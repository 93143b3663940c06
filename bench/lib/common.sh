# shellcheck shell=bash
# Shared helpers for bench/*.sh: paths, machine facts, the load gate, timing, peers, base images.
# Sourced, not run.  Env knobs (all optional):
#   RUNS (5)          timed runs per scenario (medians need >= 5)
#   WARMUP (1)        untimed runs before them
#   LOAD_MAX (3)      wait for the 1-minute load average to drop to this before each scenario group
#   LOAD_WAIT (240)   ... but at most this many seconds (the machine is shared; the load is recorded)
#   BENCH_WORK        scratch dir (default /var/tmp/slipway-benchsuite); slipway's store is $BENCH_WORK/root
#   PEERS_WORK        peers.sh's scratch dir (default /var/tmp/slipway-bench)
#   PEERS (buildah buildkit)  which peers to run; empty string = slipway only
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
RUNS=${RUNS:-5}
WARMUP=${WARMUP:-1}
LOAD_MAX=${LOAD_MAX:-3}
LOAD_WAIT=${LOAD_WAIT:-240}
BENCH_WORK=${BENCH_WORK:-/var/tmp/slipway-benchsuite}
PEERS_WORK=${PEERS_WORK:-/var/tmp/slipway-bench}
PEERS=${PEERS-buildah buildkit}
SROOT=$BENCH_WORK/root
mkdir -p "$BENCH_WORK"
# Run a private copy of the CLI bundle: dist/ may be rebuilt while a long benchmark runs. A copy is
# kept only once `--version` works from it (a rebuild in progress leaves dist/ half written).
# SNAP_NAME lets scripts that may run at the same time keep their copies apart.
SNAP=$BENCH_WORK/${SNAP_NAME:-cli-snapshot}
SNAP_AT='?'
if [[ -s $REPO/dist/cli/main.cjs ]]; then
  for _ in $(seq 30); do
    rm -rf "$SNAP.tmp" && mkdir -p "$SNAP.tmp/dist"
    if cp -r "$REPO/bin" "$SNAP.tmp/bin" && cp -r "$REPO/dist/cli" "$SNAP.tmp/dist/cli" &&
      cp "$REPO/package.json" "$SNAP.tmp/" && ln -s "$REPO/node_modules" "$SNAP.tmp/node_modules" &&
      node "$SNAP.tmp/bin/slipway.js" --version >/dev/null 2>&1; then
      rm -rf "$SNAP" && mv "$SNAP.tmp" "$SNAP"
      SNAP_AT=$(date -u -r "$SNAP/dist/cli/main.cjs" '+%H:%M UTC')
      break
    fi
    sleep 2
  done
  [[ $SNAP_AT != '?' ]] || { echo "bench: could not copy a working CLI bundle from $REPO/dist" >&2; exit 1; }
fi
SLIPWAY="$SNAP/bin/slipway.js --root $SROOT"
DOCKER=/usr/bin/docker
INDEX_PORT=${INDEX_PORT:-3141}
INDEX_URL=http://127.0.0.1:$INDEX_PORT/simple/
BASE_REF=localhost/python:3.11-slim

blog() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }

# Waits (bounded) for the machine to calm down; prints the load it settled at.
wait_load() {
  local waited=0
  while awk -v l="$(load1)" -v m="$LOAD_MAX" 'BEGIN { exit !(l > m) }'; do
    ((waited >= LOAD_WAIT)) && { blog "load $(load1) still > $LOAD_MAX after ${waited}s: going on (recorded)"; break; }
    ((waited == 0)) && blog "load $(load1) > $LOAD_MAX: waiting up to ${LOAD_WAIT}s"
    sleep 10; waited=$((waited + 10))
  done
  load1
}

# Markdown bullet list of the facts a reader needs to trust the numbers.
machine_facts() {
  local rev dirty=""
  rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')
  [[ -n $(git -C "$REPO" status --porcelain -- src 2>/dev/null) ]] && dirty=" + uncommitted src/ changes"
  cat <<EOF
- date: $(date -u '+%Y-%m-%d %H:%M UTC'); slipway $rev$dirty (a copy of the dist/ bundle built $(date -u -r "$SNAP/dist/cli/main.cjs" '+%H:%M UTC' 2>/dev/null || echo '?'), run from $SNAP)
- machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), $(. /etc/os-release && echo "$PRETTY_NAME"), node $(node --version), filesystem of $BENCH_WORK: $(stat -f -c %T "$BENCH_WORK")
- load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (shared machine: other helpers build and test at the same time)
EOF
}

# timeit NAME [timeit.mjs options] -- CMD: runs it, appends the JSON line to $RESULTS_JSONL, echoes the median (ms).
timeit() {
  local name=$1 line; shift
  line=$(node "$BENCH_DIR/lib/timeit.mjs" --name "$name" --runs "$RUNS" --warmup "$WARMUP" "$@")
  echo "$line" >> "$RESULTS_JSONL"
  node -e 'const r = JSON.parse(process.argv[1]); console.error(`  ${r.name.padEnd(28)} median ${r.medianMs} ms  [${r.samplesMs.join(" ")}]  load ${r.load1.join("->")}  exit ${r.exitCodes}`); console.log(r.medianMs)' "$line"
}

# fmt_s MS -> seconds with 3 decimals; ratio A B -> A/B with 2 decimals ('-' when either is missing)
fmt_s() { [[ -n ${1:-} && $1 != - ]] && awk -v a="$1" 'BEGIN { printf "%.3f", a / 1000 }' || echo -; }
ratio() { [[ -n ${1:-} && -n ${2:-} && $1 != - && $2 != - ]] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }' || echo -; }
# verdict VALUE OP LIMIT -> "met" / "MISSED"
# The raw JSON lines of a report, folded away.
raw_samples() {
  echo "<details><summary>raw samples (JSON lines)</summary>"
  echo
  echo '```'
  cat "$1"
  echo '```'
  echo
  echo "</details>"
}
verdict() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<") ? v < l : v <= l; print (ok ? "met" : "**MISSED**") }'; }

want_peer() { [[ " $PEERS " == *" $1 "* ]]; }
have_buildah() { want_peer buildah && command -v buildah >/dev/null && buildah images -q "$BASE_REF" 2>/dev/null | grep -q .; }
have_buildkit() { want_peer buildkit && [[ -x $DOCKER ]] && $DOCKER image inspect "$BASE_REF" >/dev/null 2>&1; }

# The base the comparisons share: peers.sh's python-3.11-slim rootfs tarball (the very bytes buildah and
# dockerd hold as localhost/python:3.11-slim), else the offline hub's; imported into slipway's store once.
base_tarball() {
  local hub
  if [[ -s $PEERS_WORK/cache/python-3.11-slim.tar ]]; then echo "$PEERS_WORK/cache/python-3.11-slim.tar"; return; fi
  hub=$(bash "$REPO/fixtures/hub/build.sh" --print-dir)
  [[ -s $hub/rootfs/python-3.11-slim.tar ]] || { blog "no base tarball: run peers.sh base or fixtures/hub/build.sh"; return 1; }
  echo "$hub/rootfs/python-3.11-slim.tar"
}
# (slipway inspect is not implemented yet: ask the store directly)
slipway_has() {
  node --input-type=module -e '
    const { Store } = await import(process.argv[1]);
    const s = await Store.open(process.argv[2]);
    const r = await s.tryResolve(process.argv[3]);
    await s.close?.();
    process.exit(r ? 0 : 1);' "$REPO/dist/src/store/store.js" "$SROOT" "$1"
}
ensure_slipway_base() {
  slipway_has "$BASE_REF" && return 0
  local tar; tar=$(base_tarball)
  blog "importing $tar into slipway's store as $BASE_REF"
  # same config as peers.sh gives the podman-imported base
  $SLIPWAY import --change 'ENV PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' \
    --change 'ENV LANG="C.UTF-8"' --change 'CMD ["python3"]' "$tar" "$BASE_REF" >/dev/null
}

# A PEP 503 index on $INDEX_PORT: reuse whatever listens there (peers.sh's index serves the same wheels),
# else start the hub's serve.mjs and stop it (by PID) when the script exits.
INDEX_PID=""
ensure_index() {
  curl -fsS -o /dev/null "$INDEX_URL" 2>/dev/null && { blog "reusing the index on $INDEX_URL"; return 0; }
  local hub; hub=$(bash "$REPO/fixtures/hub/build.sh" --print-dir)
  node "$REPO/fixtures/hub/serve.mjs" --dir "$hub" --port "$INDEX_PORT" > "$BENCH_WORK/index.log" 2>&1 &
  INDEX_PID=$!
  trap '[[ -n $INDEX_PID ]] && kill "$INDEX_PID" 2>/dev/null || true' EXIT
  for _ in $(seq 50); do curl -fsS -o /dev/null "$INDEX_URL" 2>/dev/null && return 0; sleep 0.1; done
  blog "index did not come up, see $BENCH_WORK/index.log"; return 1
}
