#!/usr/bin/env bash
# bench/tutorials.sh - the docs tutorial (examples/python-docker: Flask app, pip install from the
# loopback index) built with slipway, buildah (bud --layers) and BuildKit (dockerd 20.10), side by side:
#   cold   base present, no cache (--no-cache)
#   noop   rebuild, nothing changed
#   edit   rebuild after changing app.py's content (a comment line appended before each run, untimed)
# Every tool builds the SAME context (a copy of examples/python-docker) with the SAME Dockerfile, derived
# from the tutorial's the way /work/shared/peers/bench.sh does it: `# syntax=` line removed (BuildKit would
# fetch the frontend from Docker Hub), FROM -> localhost/python:3.11-slim (the one base all three hold, from
# the same rootfs tarball), `ARG PIP_INDEX_URL` before the RUN (the peers' base has no /etc/pip.conf);
# kept outside the context and passed with -f. slipway also builds the tutorial exactly as written
# (its own Dockerfile, FROM python:3.8-slim-buster from the offline hub) as an extra row.
# Prints a markdown table and rewrites the 'tutorials' section of bench/RESULTS.md.
# Usage: bash bench/tutorials.sh   (env: see bench/lib/common.sh)
# Targets (issue): cold <= 0.9x BuildKit; no-op and edit <= 0.3x buildah and <= 1.2x BuildKit.
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
TUT=$REPO/examples/python-docker
W=$BENCH_WORK/tutorial
CTX=$W/ctx
DF=$W/Dockerfile.bench
RESULTS_JSONL=$BENCH_WORK/tutorials.jsonl
: > "$RESULTS_JSONL"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

rm -rf "$CTX" && mkdir -p "$W" && cp -a "$TUT" "$CTX"
sed -e '/^# syntax=/d' -e "s#^FROM .*#FROM $BASE_REF#" -e 's#^RUN pip#ARG PIP_INDEX_URL\nRUN pip#' "$TUT/Dockerfile" > "$DF"
ensure_slipway_base
ensure_index
# the as-written row needs the hub's python:3.8-slim-buster in slipway's store
ASIS=0
if slipway_has python:3.8-slim-buster; then ASIS=1
else
  hub=$(bash "$REPO/fixtures/hub/build.sh" --print-dir)
  if [[ -s $hub/rootfs/python-3.11-slim.tar ]]; then
    $SLIPWAY import --change 'ENV PATH="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"' \
      --change 'ENV LANG="C.UTF-8"' --change 'CMD ["python3"]' "$hub/rootfs/python-3.11-slim.tar" python:3.8-slim-buster >/dev/null && ASIS=1
  fi
fi
# Two cut-down Dockerfiles split the cold build in two: everything but pip (the same steps with
# `RUN true`), and pip without its layer (installed into /tmp and removed in the same RUN).
DF_NOPIP=$W/Dockerfile.nopip
DF_PIPONLY=$W/Dockerfile.piponly
sed -e 's#^RUN pip.*#RUN true#' -e '/^COPY \. \./d' "$DF" > "$DF_NOPIP"
sed -e 's#^RUN pip.*#RUN pip3 install --target /tmp/pip-only -r requirements.txt \&\& rm -rf /tmp/pip-only#' -e '/^COPY \. \./d' "$DF" > "$DF_PIPONLY"
CTX_ASIS=$W/ctx-asis
rm -rf "$CTX_ASIS" && cp -a "$TUT" "$CTX_ASIS"

common="--build-arg PIP_INDEX_URL=$INDEX_URL -f $DF"
cmd_slipway="$SLIPWAY build $common -t bench-tutorial:slipway $CTX"
cmd_buildah="buildah bud --layers --network host $common -t localhost/bench-tutorial:buildah $CTX"
cmd_buildkit="env DOCKER_BUILDKIT=1 $DOCKER build --network host $common -t localhost/bench-tutorial:buildkit $CTX"
cmd_slipwayasis="$SLIPWAY build -t bench-tutorial:asis $CTX_ASIS"
# dockerd's image store keeps layers uncompressed, so BuildKit's cold build gzips nothing; slipway's
# store gzips every layer (issue 3). This row (cold only) shows the build doing BuildKit's work.
cmd_slipwayunc="$SLIPWAY build $common --output type=image,name=bench-tutorial:uncompressed,compression=uncompressed $CTX"
cmd_slipwaynopip="$SLIPWAY build --build-arg PIP_INDEX_URL=$INDEX_URL -f $DF_NOPIP -t bench-tutorial:nopip $CTX"
cmd_buildkitnopip="env DOCKER_BUILDKIT=1 $DOCKER build --network host --build-arg PIP_INDEX_URL=$INDEX_URL -f $DF_NOPIP -t localhost/bench-tutorial:nopip $CTX"
cmd_slipwaypiponly="$SLIPWAY build --build-arg PIP_INDEX_URL=$INDEX_URL -f $DF_PIPONLY -t bench-tutorial:piponly $CTX"
cmd_buildkitpiponly="env DOCKER_BUILDKIT=1 $DOCKER build --network host --build-arg PIP_INDEX_URL=$INDEX_URL -f $DF_PIPONLY -t localhost/bench-tutorial:piponly $CTX"
tools=(slipway)
have_buildah && tools+=(buildah) || blog "buildah peer skipped (not installed / no $BASE_REF in its storage)"
have_buildkit && tools+=(buildkit) || blog "BuildKit peer skipped (dockerd not running / no $BASE_REF in it)"
((ASIS)) && tools+=(slipwayasis)
tools+=(slipwayunc slipwaynopip slipwaypiponly)
have_buildkit && tools+=(buildkitnopip buildkitpiponly)

declare -A M CMD PREP
for t in "${tools[@]}"; do
  c=cmd_$t
  ctx=$CTX; [[ $t == slipwayasis ]] && ctx=$CTX_ASIS
  # --no-cache goes right after the subcommand
  CMD[$t-cold]=${!c/ build / build --no-cache }; CMD[$t-cold]=${CMD[$t-cold]/ bud / bud --no-cache }
  CMD[$t-noop]=${!c}
  CMD[$t-edit]=${!c}
  PREP[$t-edit]="echo \"# edit \$(date +%s%N)\" >> $ctx/app.py"
  sh -c "${!c}" >/dev/null 2>&1 || { blog "$t: first build failed: ${!c}"; sh -c "${!c}" 2>&1 | tail -30 >&2; exit 1; }
done

# A build takes 0.1-3 s and this machine's speed drifts over minutes: the tools take turns run by
# run, so a slow spell lands on all of them rather than on whichever ran then.
measure() {
  local sc=$1 t r w line
  shift
  local -A runs=()
  for t in "$@"; do
    for ((w = 0; w < WARMUP; w++)); do sh -c "${PREP[$t-$sc]:-true}; ${CMD[$t-$sc]}" >/dev/null 2>&1; done
  done
  wait_load >/dev/null
  for ((r = 0; r < RUNS; r++)); do
    for t in "$@"; do
      runs[$t]+="$(node "$BENCH_DIR/lib/timeit.mjs" --name "$t-$sc" --runs 1 --warmup 0 \
        ${PREP[$t-$sc]:+--prepare "${PREP[$t-$sc]}"} -- "${CMD[$t-$sc]}")"$'\n'
    done
  done
  for t in "$@"; do
    line=$(printf '%s' "${runs[$t]}" | node -e '
      const runs = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
      const ms = runs.map((r) => r.samplesMs[0]);
      const s = [...ms].sort((a, b) => a - b);
      const m = s.length >> 1;
      const median = s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
      console.log(JSON.stringify({ ...runs[0], runs: ms.length, takingTurns: true, medianMs: Math.round(median * 10) / 10,
        minMs: s[0], maxMs: s[s.length - 1], samplesMs: ms, exitCodes: [...new Set(runs.flatMap((r) => r.exitCodes))],
        load1: [runs[0].load1[0], runs[runs.length - 1].load1[1]] }));')
    echo "$line" >> "$RESULTS_JSONL"
    M[$t-$sc]=$(node -e 'const r = JSON.parse(process.argv[1]); console.error(`  ${r.name.padEnd(28)} median ${r.medianMs} ms  [${r.samplesMs.join(" ")}]  load ${r.load1.join("->")}  exit ${r.exitCodes}`); console.log(r.medianMs)' "$line")
  done
}
measure cold "${tools[@]}"
rebuilders=()
for t in "${tools[@]}"; do [[ $t == slipwayunc || $t == *nopip || $t == *piponly ]] || rebuilders+=("$t"); done
measure noop "${rebuilders[@]}"
measure edit "${rebuilders[@]}"

label() { case $1 in slipwayasis) echo 'slipway, tutorial as written';; slipwayunc) echo 'slipway, layers stored uncompressed';;
  slipwaynopip) echo 'slipway, cold part 1: the steps with `RUN true`';; buildkitnopip) echo 'BuildKit, cold part 1: the steps with `RUN true`';;
  slipwaypiponly) echo 'slipway, cold part 2: pip without its layer';; buildkitpiponly) echo 'BuildKit, cold part 2: pip without its layer';; buildkit) echo 'BuildKit (docker build)';; buildah) echo 'buildah bud --layers';; *) echo "$1";; esac; }
report() {
  local t c cc
  echo "## tutorials.sh: examples/python-docker (Flask) cold / no-op / edit"
  echo
  machine_facts | sed "s/^- load average at start: .*/- load average at start: $LOAD_START; 1-min load before each scenario was waited down to <= $LOAD_MAX for at most ${LOAD_WAIT}s (per-scenario loads in the JSON below)/"
  echo "- tool versions: $(buildah --version 2>/dev/null | head -1 || echo 'buildah -'); $($DOCKER version --format 'dockerd {{.Server.Version}}' 2>/dev/null || echo 'dockerd -'); $(runc --version 2>/dev/null | head -1)"
  echo "- index: $INDEX_URL ($( ((${#INDEX_PID})) && echo "the hub's serve.mjs, started by this script" || echo 'already running (peers.sh index or the hub), reused'))"
  echo "- timing: bench/lib/timeit.mjs, wall clock of the whole process, $WARMUP warm-up + $RUNS timed runs, median; the tools take turns run by run (a round is one build of each); cold = \`--no-cache\` with the base present; edit = \`echo \"# edit <ns>\" >> app.py\` untimed before each run"
  echo "- Dockerfile for all three tools ($DF, outside the context): the tutorial's with the \`# syntax\` line removed, FROM -> \`$BASE_REF\`, and \`ARG PIP_INDEX_URL\` before the RUN, as /work/shared/peers/bench.sh does; base = $(base_tarball), imported into slipway's store, podman/buildah storage and dockerd"
  echo "- what still differs: peers get \`--network host\` (slipway's RUN shares the host network by default and has no --network flag); dockerd/BuildKit is a running daemon (its start-up is not in the number, the docker CLI's is), buildah and slipway are whole processes; buildah and BuildKit use runc 1.1.5 like slipway"
  echo
  echo "| tool | cold | no-op | edit app.py |"
  echo "|---|---|---|---|"
  for t in "${tools[@]}"; do
    echo "| $(label "$t") | $(fmt_s "${M[$t-cold]}") | $(fmt_s "${M[$t-noop]:-}") | $(fmt_s "${M[$t-edit]:-}") |"
  done
  echo
  echo "(median wall seconds)"
  echo
  for t in buildah buildkit; do
    [[ -n ${M[$t-cold]:-} ]] || continue
    echo "- ratio slipway/$(label "$t"): cold $(ratio "${M[slipway-cold]}" "${M[$t-cold]}"), no-op $(ratio "${M[slipway-noop]}" "${M[$t-noop]}"), edit $(ratio "${M[slipway-edit]}" "${M[$t-edit]}")"
  done
  if [[ -n ${M[buildkit-cold]:-} ]]; then
    local r
    r=$(ratio "${M[slipway-cold]}" "${M[buildkit-cold]}"); echo "- target cold <= 0.9x BuildKit: $(verdict "$r" '<=' 0.9) ($r)"
    echo "- cold with layers stored uncompressed (no gzip, as in BuildKit's cold build into dockerd): $(ratio "${M[slipwayunc-cold]}" "${M[buildkit-cold]}")x BuildKit"
    echo "- cold part 1, the steps with \`RUN true\` (no pip, no COPY . .): $(ratio "${M[slipwaynopip-cold]}" "${M[buildkitnopip-cold]}")x BuildKit"
    echo "- cold part 2, pip installed into /tmp and removed in the same RUN (no layer to write): $(ratio "${M[slipwaypiponly-cold]}" "${M[buildkitpiponly-cold]}")x BuildKit"
    r=$(ratio "${M[slipway-noop]}" "${M[buildkit-noop]}"); echo "- target no-op <= 1.2x BuildKit: $(verdict "$r" '<=' 1.2) ($r)"
    r=$(ratio "${M[slipway-edit]}" "${M[buildkit-edit]}"); echo "- target edit <= 1.2x BuildKit: $(verdict "$r" '<=' 1.2) ($r)"
  fi
  if [[ -n ${M[buildah-cold]:-} ]]; then
    local r
    r=$(ratio "${M[slipway-noop]}" "${M[buildah-noop]}"); echo "- target no-op <= 0.3x buildah: $(verdict "$r" '<=' 0.3) ($r)"
    r=$(ratio "${M[slipway-edit]}" "${M[buildah-edit]}"); echo "- target edit <= 0.3x buildah: $(verdict "$r" '<=' 0.3) ($r)"
  fi
  echo
  echo "Commands (no-op/edit; cold adds \`--no-cache\`):"
  echo
  for t in "${tools[@]}"; do c=cmd_$t; echo "- $(label "$t"): \`${!c}\`"; done
  echo
  raw_samples "$RESULTS_JSONL"
}
report > "$BENCH_WORK/tutorials.md"
cat "$BENCH_WORK/tutorials.md"
node "$BENCH_DIR/lib/results.mjs" tutorials < "$BENCH_WORK/tutorials.md"
