#!/usr/bin/env bash
# bench/registry.sh - push and pull against a local registry, slipway vs `skopeo copy`, for the seed image
# (examples/python-docker, built by slipway: 5 gzip layers, ~52 MB) and a generated 1 GiB image (random,
# incompressible data in 8 files, one layer), cold and warm; medians, ratios and peak RSS.
# Issue targets: cold push <= 1.0x skopeo, warm push <= 0.5x skopeo, pull <= 1.0x skopeo,
#                peak memory < 150 MB for the 1 GiB image.
#
# Registry: Debian's docker-registry (distribution 2.8), filesystem storage, 127.0.0.1:<free port>, started and
# stopped by PID. Both tools read the SAME blobs: slipway from its store, skopeo from the store's OCI layout
# (`oci:$SROOT/oci:<ref.name>`), so no recompression on either side.
#   push cold : registry restarted on an empty storage dir before each sample (no blob, no mount source)
#   push warm : the same push again (every blob already in the repo: HEAD + manifest PUT)
#   pull cold : into an empty slipway root / an empty OCI dir (skopeo copy docker://... oci:DIR:tag)
#   pull warm : the same pull again into that root / dir (blobs already there)
# Each sample is wrapped in /usr/bin/time (max RSS of the process tree's largest process); wall clock from bash.
# Usage: bash bench/registry.sh   env: RUNS_SEED (5), RUNS_BIG (3), LOAD_MAX (3), LOAD_WAIT (240), BENCH_WORK,
#        BIG_MIB (1024), SKIP_BIG=1 (seed image only)
BENCH_WORK=${BENCH_WORK:-/var/tmp/slipway-benchrun}
SNAP_NAME=slipway-snapshot-registry
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
RUNS_SEED=${RUNS_SEED:-5}
RUNS_BIG=${RUNS_BIG:-3}
BIG_MIB=${BIG_MIB:-1024}
SKIP_BIG=${SKIP_BIG:-0}
RW=$BENCH_WORK/registry
RESULTS_JSONL=$BENCH_WORK/registry.jsonl
: > "$RESULTS_JSONL"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
HUB=$(bash "$REPO/fixtures/hub/build.sh" --print-dir)
mkdir -p "$RW"

SW="$SNAP/bin/slipway.js"
SLIPWAY="$SW --root $SROOT"
slipway_has() { $SLIPWAY image inspect "$1" >/dev/null 2>&1; }

# ---- registry lifecycle (by PID) ----
REG_PID=""
INDEX_PID=""
PORT=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
REG=127.0.0.1:$PORT
reg_stop() {
  if [[ -n $REG_PID ]] && kill -0 "$REG_PID" 2>/dev/null; then
    kill -TERM "$REG_PID"
    for _ in $(seq 100); do kill -0 "$REG_PID" 2>/dev/null || break; sleep 0.05; done
    kill -0 "$REG_PID" 2>/dev/null && kill -KILL "$REG_PID"
  fi
  REG_PID=""
}
reg_start_fresh() {  # empty storage, same port
  reg_stop
  rm -rf "$RW/data"
  mkdir -p "$RW/data"
  cat > "$RW/config.yml" <<EOF
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $RW/data
http:
  addr: $REG
EOF
  /usr/bin/docker-registry serve "$RW/config.yml" >> "$RW/registry.log" 2>&1 &
  REG_PID=$!
  for _ in $(seq 100); do curl -fsS -o /dev/null "http://$REG/v2/" 2>/dev/null && return 0; sleep 0.05; done
  blog "registry did not answer on $REG, see $RW/registry.log"
  return 1
}
cleanup() {
  reg_stop
  if [[ -n $INDEX_PID ]] && kill -0 "$INDEX_PID" 2>/dev/null; then kill "$INDEX_PID"; fi
}
trap cleanup EXIT

# ---- the images ----
ensure_seed() {
  slipway_has python-docker && return 0
  slipway_has python:3.8-slim-buster || node "$REPO/fixtures/hub/import.mjs" "$HUB" --root "$SROOT" >/dev/null
  if ! curl -fsS -o /dev/null "http://127.0.0.1:$INDEX_PORT/simple/flask/" 2>/dev/null; then
    node "$REPO/fixtures/hub/serve.mjs" --dir "$HUB" --port "$INDEX_PORT" > "$BENCH_WORK/index.log" 2>&1 &
    INDEX_PID=$!
    for _ in $(seq 50); do curl -fsS -o /dev/null "http://127.0.0.1:$INDEX_PORT/simple/flask/" 2>/dev/null && break; sleep 0.1; done
  fi
  blog "slipway build -t python-docker examples/python-docker"
  $SLIPWAY build -t python-docker "$REPO/examples/python-docker" > "$BENCH_WORK/slipway-build.log" 2>&1 ||
    { tail -20 "$BENCH_WORK/slipway-build.log" >&2; exit 1; }
}
BIG_REF=bench-1g:latest
ensure_big() {
  slipway_has "$BIG_REF" && return 0
  local d=$BENCH_WORK/big-rootfs tar=$BENCH_WORK/big-rootfs.tar per=$((BIG_MIB / 8))
  blog "generating ${BIG_MIB} MiB of random data and importing it as $BIG_REF (untimed)"
  rm -rf "$d"; mkdir -p "$d/data"
  for i in 1 2 3 4 5 6 7 8; do head -c "$((per * 1048576))" /dev/urandom > "$d/data/blob$i.bin"; done
  tar --numeric-owner -C "$d" -cf "$tar" .
  $SLIPWAY import --change 'CMD ["/bin/true"]' "$tar" "$BIG_REF" >/dev/null
  rm -rf "$d" "$tar"
}
ensure_seed
[[ $SKIP_BIG == 1 ]] || ensure_big

manifest_of() {  # manifest_of FAMILIAR-REF -> layer count and total compressed bytes
  node -e '
    const fs = require("node:fs"), [root, name] = process.argv.slice(1);
    const idx = JSON.parse(fs.readFileSync(root + "/oci/index.json", "utf8"));
    const m = idx.manifests.find((x) => x.annotations?.["org.opencontainers.image.ref.name"] === name);
    const man = JSON.parse(fs.readFileSync(root + "/oci/blobs/sha256/" + m.digest.slice(7), "utf8"));
    const bytes = man.layers.reduce((a, l) => a + l.size, 0) + man.config.size;
    console.log(`${man.layers.length} layers, ${(bytes / 1048576).toFixed(1)} MiB compressed`);' "$SROOT" "$1"
}

# measure NAME CMD...: runs CMD under /usr/bin/time; appends {name, ms, maxRssKiB, load1} to the JSONL
measure() {
  local name=$1 t0 t1 rss rc=0; shift
  t0=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$RW/time.out" "$@" > "$RW/last.out" 2> "$RW/last.err" || rc=$?
  t1=$(date +%s%N)
  rss=$(tail -1 "$RW/time.out")
  if ((rc != 0)); then
    blog "$name failed (exit $rc): $*"; tail -5 "$RW/last.err" >&2
  fi
  printf '{"name":"%s","ms":%s,"maxRssKiB":%s,"exit":%d,"load1":%s}\n' \
    "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')" "${rss:-null}" "$rc" "$(load1)" >> "$RESULTS_JSONL"
  blog "  $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", (b - a) / 1e6 }') ms, max RSS $((${rss:-0} / 1024)) MiB, load $(load1)"
}

# scenario LABEL FAMILIAR-REF RUNS: every tool and phase, RUNS rounds, tools interleaved
scenario() {
  local label=$1 ref=$2 runs=$3 i repo=bench/$1 ocid skroot oci_ref
  oci_ref=docker.io/library/${ref%%:*}:${ref##*:}
  $SLIPWAY tag "$ref" "$REG/$repo:slipway"
  blog "$label ($ref): $runs rounds"
  for ((i = 0; i <= runs; i++)); do  # round 0 = warm-up, dropped from the JSONL below
    wait_load > /dev/null
    measure "$label-node-startup" env -u NODE_EXTRA_CA_CERTS node -e ''
    # push: slipway
    reg_start_fresh
    measure "$label-push-cold-slipway" $SLIPWAY push -q "$REG/$repo:slipway"
    measure "$label-push-warm-slipway" $SLIPWAY push -q "$REG/$repo:slipway"
    # push: skopeo (fresh registry as well)
    reg_start_fresh
    measure "$label-push-cold-skopeo" skopeo copy -q --dest-tls-verify=false "oci:$SROOT/oci:$oci_ref" "docker://$REG/$repo:skopeo"
    measure "$label-push-warm-skopeo" skopeo copy -q --dest-tls-verify=false "oci:$SROOT/oci:$oci_ref" "docker://$REG/$repo:skopeo"
    # pull: the registry (restarted for skopeo's cold push) now holds the image once; both tools pull that tag
    skroot=$RW/pull-slipway; ocid=$RW/pull-skopeo
    rm -rf "$skroot" "$ocid"
    measure "$label-pull-cold-slipway" $SW --root "$skroot" pull -q "$REG/$repo:skopeo"
    measure "$label-pull-warm-slipway" $SW --root "$skroot" pull -q "$REG/$repo:skopeo"
    measure "$label-pull-cold-skopeo" skopeo copy -q --src-tls-verify=false "docker://$REG/$repo:skopeo" "oci:$ocid:app"
    measure "$label-pull-warm-skopeo" skopeo copy -q --src-tls-verify=false "docker://$REG/$repo:skopeo" "oci:$ocid:app"
    rm -rf "$skroot" "$ocid"
    if ((i == 0)); then sed -i "/\"name\":\"$label-/d" "$RESULTS_JSONL"; fi
  done
  $SLIPWAY rmi "$REG/$repo:slipway" > /dev/null
}

LOAD_BEFORE=$(wait_load)
SEED_DESC=$(manifest_of docker.io/library/python-docker:latest)
scenario seed python-docker:latest "$RUNS_SEED"
if [[ $SKIP_BIG != 1 ]]; then
  BIG_DESC=$(manifest_of "docker.io/library/$BIG_REF")
  scenario big "$BIG_REF" "$RUNS_BIG"
fi
reg_stop
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- report ----
med() {  # med NAME FIELD median|max -> number or '-'
  node -e '
    const [file, name, field, how] = process.argv.slice(1);
    const xs = require("node:fs").readFileSync(file, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l))
      .filter((o) => o.name === name && o.exit === 0).map((o) => o[field]);
    if (!xs.length) { console.log("-"); process.exit(0); }
    const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
    console.log(how === "max" ? s[s.length - 1] : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2);' "$RESULTS_JSONL" "$1" "$2" "$3"
}
mib() { [[ $1 == - ]] && echo - || awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
table() {  # table LABEL
  local l=$1 op ph a b r lim
  echo "| operation | slipway (s) | skopeo (s) | slipway/skopeo | target | verdict | slipway peak RSS (MiB) | skopeo peak RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|---|"
  for op in push pull; do
    for ph in cold warm; do
      a=$(med "$l-$op-$ph-slipway" ms median); b=$(med "$l-$op-$ph-skopeo" ms median); r=$(ratio "$a" "$b")
      case $op-$ph in push-cold) lim=1.0 ;; push-warm) lim=0.5 ;; *) lim=1.0 ;; esac
      echo "| $op $ph | $(fmt_s "$a") | $(fmt_s "$b") | $r | <= $lim | $([[ $r == - ]] && echo - || verdict "$r" '<=' "$lim") | $(mib "$(med "$l-$op-$ph-slipway" maxRssKiB max)") | $(mib "$(med "$l-$op-$ph-skopeo" maxRssKiB max)") |"
    done
  done
}
report() {
  echo "## registry.sh: push and pull, slipway vs skopeo copy (local registry)"
  echo
  machine_facts | sed "s/^- load average at start: .*/- load average: $LOAD_START at start, $LOAD_BEFORE (1-min) when the timed rounds began, $LOAD_END at the end; each round waited for 1-min load <= $LOAD_MAX for at most ${LOAD_WAIT}s (per-sample loads in the JSON below)/"
  echo "- registry: Debian docker-registry $(dpkg-query -W -f='${Version}' docker-registry 2>/dev/null) (filesystem storage under $RW/data, plain HTTP on 127.0.0.1); skopeo $(skopeo --version | awk '{print $3}')"
  echo "- both tools copy the same gzip blobs: slipway from its store ($SROOT), skopeo from the store's OCI layout (\`oci:$SROOT/oci:<ref>\`); pulls land in an empty slipway root / an empty OCI dir"
  echo "- cold push: registry restarted on an empty storage dir before each tool's push; warm push: the same push again; cold pull: empty destination; warm pull: the same pull again"
  echo "- wall clock of the whole process, median of the timed rounds after 1 untimed warm-up round; peak RSS = max over the rounds of /usr/bin/time's maximum resident set size"
  echo
  echo "### seed image (examples/python-docker: $SEED_DESC), median of $RUNS_SEED"
  echo
  table seed
  echo
  echo "- for scale: Node's own start (\`env -u NODE_EXTRA_CA_CERTS node -e ''\`, as bin/slipway.js starts it) took $(fmt_s "$(med seed-node-startup ms median)") s (median, same rounds): every slipway sample pays it"
  if [[ $SKIP_BIG != 1 ]]; then
    echo
    echo "### generated ${BIG_MIB} MiB image (/dev/urandom data in 8 files: $BIG_DESC), median of $RUNS_BIG"
    echo
    table big
    local peak; peak=$(med big-push-cold-slipway maxRssKiB max)
    for n in big-push-warm-slipway big-pull-cold-slipway big-pull-warm-slipway; do
      local v; v=$(med "$n" maxRssKiB max)
      [[ $v != - ]] && ((v > peak)) && peak=$v
    done
    echo
    echo "- target peak memory < 150 MB for the ${BIG_MIB} MiB image: $(verdict "$((peak * 1024))" '<' 150000000) (slipway's peak $(awk -v k="$peak" 'BEGIN { printf "%.0f MB", k * 1024 / 1e6 }') over all its push/pull samples)"
  fi
  echo
  raw_samples "$RESULTS_JSONL"
}
report | tee "$BENCH_WORK/registry-report.md" | node "$BENCH_DIR/lib/results.mjs" registry
cat "$BENCH_WORK/registry-report.md"
