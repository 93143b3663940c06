#!/usr/bin/env bash
# bench/profile.sh - where slipway's time goes in one build: a V8 CPU profile (node --cpu-prof, summarised
# by bench/lib/cpuprofile-summary.mjs with bundle frames mapped to src/ files), syscall counts (strace -c)
# and a process/mount/commit timeline (strace -ttt, bench/lib/strace-timeline.mjs: runc start, the RUN
# command, layer commit). Run build.sh / tutorials.sh first (they make the contexts and the cache).
# Usage: bash bench/profile.sh SCENARIO...   scenarios:
#   noop10k  no-op rebuild of the 10k-file context       edit10k  the same after one file changed
#   tutnoop  no-op rebuild of the tutorial                tutedit  the tutorial after app.py changed
#   tutcold  the tutorial with --no-cache
# Output: $BENCH_WORK/prof/<scenario>/{*.cpuprofile,cpu.txt,strace-c.txt,timeline.txt,build.log}
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
CTX10K=$BENCH_WORK/ctx10k
TW=$BENCH_WORK/tutorial
(($#)) || set -- noop10k edit10k tutnoop tutedit tutcold
ensure_index
for s in "$@"; do
  pre="" args=()
  case $s in
    noop10k) args=(build -t bench10k:slipway "$CTX10K") ;;
    edit10k) args=(build -t bench10k:slipway "$CTX10K"); pre="date +%s%N >> $CTX10K/d042/f042.txt" ;;
    tutnoop) args=(build --build-arg "PIP_INDEX_URL=$INDEX_URL" -f "$TW/Dockerfile.bench" -t bench-tutorial:slipway "$TW/ctx") ;;
    tutedit) args=(build --build-arg "PIP_INDEX_URL=$INDEX_URL" -f "$TW/Dockerfile.bench" -t bench-tutorial:slipway "$TW/ctx")
      pre="echo \"# edit \$(date +%s%N)\" >> $TW/ctx/app.py" ;;
    tutcold) args=(build --no-cache --build-arg "PIP_INDEX_URL=$INDEX_URL" -f "$TW/Dockerfile.bench" -t bench-tutorial:slipway "$TW/ctx") ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
  out=$BENCH_WORK/prof/$s
  rm -rf "$out" && mkdir -p "$out"
  blog "$s: load $(load1)"
  # prime the cache so no-op/edit profiles see a warm store
  node "$SNAP/bin/slipway.js" --root "$SROOT" "${args[@]}" >/dev/null 2>&1
  [[ -n $pre ]] && sh -c "$pre"
  node --cpu-prof --cpu-prof-dir="$out" "$SNAP/bin/slipway.js" --root "$SROOT" "${args[@]}" > "$out/build.log" 2>&1
  node "$BENCH_DIR/lib/cpuprofile-summary.mjs" "$out"/*.cpuprofile 40 > "$out/cpu.txt"
  [[ -n $pre ]] && sh -c "$pre"
  strace -f -c -o "$out/strace-c.txt" node "$SNAP/bin/slipway.js" --root "$SROOT" "${args[@]}" >/dev/null 2>&1
  [[ -n $pre ]] && sh -c "$pre"
  strace -f --seccomp-bpf -ttt -e trace=execve,exit_group,mount,umount2,rename,renameat2 -o "$out/strace.raw" \
    node "$SNAP/bin/slipway.js" --root "$SROOT" "${args[@]}" >/dev/null 2>&1
  node "$BENCH_DIR/lib/strace-timeline.mjs" "$out/strace.raw" > "$out/timeline.txt"
  echo "== $s: $out"
  head -4 "$out/cpu.txt" | tail -1
  sed -n '/^inclusive/,$p' "$out/cpu.txt" | grep -v 'node:internal' | head -16
  head -8 "$out/strace-c.txt"
  echo "timeline: $(wc -l < "$out/timeline.txt") events, last: $(tail -1 "$out/timeline.txt" | cut -c1-40)"
done
