#!/usr/bin/env bash
# record-golden.sh - (re-)record test/golden/buildkit/<case>.json: what the real BuildKit
# (dockerd 20.10's built-in one) makes of the tutorials in examples/tutorials/ and of the
# hand-made contexts in test/golden/contexts/. slipway's image/config/history/layer code is
# checked against these files, so they must come from Docker itself, never be hand-edited.
#
# Needs the peer servers (see /work/shared/peers/README.md):
#   bash /work/shared/peers/peers.sh install base wheelhouse index-start docker-start
# and afterwards `bash /work/shared/peers/peers.sh stop`.
#
# Usage: bash scripts/record-golden.sh [CASE ...]     (default: every case)
# Env:   DOCKER (/usr/bin/docker: docker.io 20.10's client; the 28.x one wants buildx)
#        INDEX_URL (http://127.0.0.1:3141/simple/)  KEEP=1 keeps the scratch dir
#
# Every build uses a scratch COPY of the context (modes and mtimes normalised, because git
# keeps neither) and a rewritten Dockerfile kept OUTSIDE the context (-f), so `COPY . .`
# sees the tutorial's own Dockerfile. The rewrites are listed per case in `changes` below
# and stored, with the exact Dockerfile built, in each JSON file.
set -Eeuo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DOCKER=${DOCKER:-/usr/bin/docker}
BASE_IMAGE=localhost/python:3.11-slim
INDEX_URL=${INDEX_URL:-http://127.0.0.1:3141/simple/}
OUT=$ROOT/test/golden/buildkit
# Fixed mtime for every context file: COPY keeps source mtimes, so the listings can show it.
CTX_MTIME=1700000000
TMP=$(mktemp -d /var/tmp/slipway-golden.XXXXXX)
[[ ${KEEP:-0} == 1 ]] || trap 'rm -rf "$TMP"' EXIT

log() { printf '[golden %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# The Debian mirror (for course-multistage's `apt-get install gcc`), read from apt's own
# configuration like peers.sh does; it is passed as a build-arg and masked in the output.
mirror_url() {
  local u=""
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    u=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $u && -r /etc/apt/sources.list ]]; then
    u=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "$u"
}

preflight() {
  $DOCKER info >/dev/null 2>&1 || die "dockerd is not answering: bash /work/shared/peers/peers.sh docker-start"
  $DOCKER image inspect "$BASE_IMAGE" >/dev/null 2>&1 || die "$BASE_IMAGE is not in dockerd: peers.sh base docker-start"
  curl -fsS -o /dev/null -m 5 "$INDEX_URL" || die "no PEP 503 index on $INDEX_URL: peers.sh wheelhouse index-start"
  mkdir -p "$OUT"
}

# record NAME SRC_DIR CHANGES_JSON SED_SCRIPT [build args...]
#   CHANGES_JSON: JSON array of strings describing each rewrite (stored in the output)
#   SED_SCRIPT:   sed program turning SRC_DIR/Dockerfile into the Dockerfile that is built
record() {
  local name=$1 src=$2 changes=$3 sedprog=$4; shift 4
  local dir=$TMP/$name tag=localhost/slipway-golden:$name rc=0
  log "$name: building $src"
  rm -rf "$dir"; mkdir -p "$dir"
  cp -a "$src" "$dir/ctx"
  # git keeps neither modes (beyond +x) nor mtimes: normalise, then the per-case modes
  find "$dir/ctx" -type d -exec chmod 0755 {} +
  find "$dir/ctx" -type f -exec chmod 0644 {} +
  if [[ -n ${MODES[$name]:-} ]]; then
    local m
    for m in ${MODES[$name]}; do chmod "${m#*=}" "$dir/ctx/${m%%=*}"; done
  fi
  find "$dir/ctx" -exec touch -h -d "@$CTX_MTIME" {} +
  sed -e "$sedprog" "$src/Dockerfile" > "$dir/Dockerfile"
  $DOCKER rmi -f "$tag" >/dev/null 2>&1 || true
  ( cd "$dir/ctx" && DOCKER_BUILDKIT=1 BUILDKIT_PROGRESS=plain $DOCKER build --no-cache --network host \
      "$@" -f "$dir/Dockerfile" -t "$tag" . ) > "$dir/build.log" 2>&1 || rc=$?
  if ((rc == 0)); then
    $DOCKER image inspect "$tag" > "$dir/inspect.json"
    $DOCKER history --no-trunc --format '{{json .}}' "$tag" > "$dir/history.jsonl"
    $DOCKER history --no-trunc --human=false --format '{{json .}}' "$tag" > "$dir/history-bytes.jsonl"
    $DOCKER save -o "$dir/image.tar" "$tag"
  else
    log "$name: build FAILED (rc $rc) - recording the failure"
  fi
  local buildargs=("$@")
  python3 -c "$ASSEMBLE_PY" \
    --name "$name" --src "${src#"$ROOT"/}" --dir "$dir" --rc "$rc" --changes "$changes" \
    --base-inspect "$TMP/base-inspect.json" --base-history-count "$BASE_HISTORY_COUNT" --docker-version "$DOCKER_VERSION" \
    --ctx-mtime "$CTX_MTIME" --mask "$(mirror_url)" --out "$OUT/$name.json" -- "${buildargs[@]}"
  $DOCKER rmi -f "$tag" >/dev/null 2>&1 || true
  log "$name: wrote ${OUT#"$ROOT"/}/$name.json"
}

# Assembles one golden JSON from what record() left in its scratch dir.
read -r -d '' ASSEMBLE_PY <<'PY' || true
# Assemble one golden JSON from what record() left in DIR: inspect.json, history*.jsonl,
# image.tar (docker save), build.log, the built Dockerfile.
import argparse, io, json, os, re, sys, tarfile

ap = argparse.ArgumentParser()
for a in ("name", "src", "dir", "rc", "changes", "base-inspect", "base-history-count", "docker-version", "ctx-mtime", "mask", "out"):
    ap.add_argument("--" + a, required=True)
ap.add_argument("buildargs", nargs="*")
o = ap.parse_args()

def masked(s):
    return s.replace(o.mask, "<mirror>") if o.mask else s

def mask_tree(v):
    if isinstance(v, str): return masked(v)
    if isinstance(v, list): return [mask_tree(x) for x in v]
    if isinstance(v, dict): return {k: mask_tree(x) for k, x in v.items()}
    return v

buildargs = {}
it = iter(o.buildargs)
for a in it:
    if a == "--build-arg":
        k, _, v = next(it).partition("=")
        buildargs[k] = v

res = {
    "name": o.name,
    "context": o.src,
    "recordedWith": {
        "engine": "dockerd %s, built-in BuildKit (DOCKER_BUILDKIT=1 /usr/bin/docker build)" % o.docker_version,
        "command": "DOCKER_BUILDKIT=1 docker build --no-cache --network host %s-f <Dockerfile below, outside the context> -t localhost/slipway-golden:%s <copy of context>"
                   % ("".join("--build-arg %s=%s " % (k, v) for k, v in buildargs.items()), o.name),
        "contextMtime": int(o.ctx_mtime),
        "contextNote": "context copied with dirs 0755, files 0644 (plus the per-case modes in the README) and every mtime set to contextMtime",
    },
    "dockerfileChanges": json.loads(o.changes),
    "dockerfile": open(os.path.join(o.dir, "Dockerfile")).read(),
    "buildArgs": buildargs,
}

if o.rc != "0":
    log = open(os.path.join(o.dir, "build.log"), errors="replace").read().splitlines()
    errs = [l for l in log if "error" in l.lower() or "failed" in l.lower()]
    res["buildFailed"] = True
    res["exitCode"] = int(o.rc)
    res["errorLines"] = errs[-6:]
    res["buildLogTail"] = log[-15:]
    json.dump(mask_tree(res), open(o.out, "w"), indent=2, ensure_ascii=False)
    open(o.out, "a").write("\n")
    sys.exit(0)

insp = json.load(open(os.path.join(o.dir, "inspect.json")))[0]
base = json.load(open(o.base_inspect))[0]
cfg = insp["Config"]
KEYS = ("Cmd", "Entrypoint", "WorkingDir", "ExposedPorts", "Env", "User", "Labels", "Volumes",
        "StopSignal", "Shell", "Healthcheck", "OnBuild", "ArgsEscaped")
res["inspectConfig"] = {k: cfg.get(k) for k in KEYS}
res["inspect"] = {k: insp.get(k) for k in ("Architecture", "Os", "Variant", "Author", "Comment", "DockerVersion")}

def hist_rows(fn):
    return [json.loads(l) for l in open(os.path.join(o.dir, fn)) if l.strip()]
human, raw = hist_rows("history.jsonl"), hist_rows("history-bytes.jsonl")
res["dockerHistory"] = [
    {"CreatedBy": h["CreatedBy"], "Size": h["Size"], "SizeBytes": int(r["Size"]), "Comment": h["Comment"],
     "missing": h["ID"] == "<missing>"}
    for h, r in zip(human, raw)]

tf = tarfile.open(os.path.join(o.dir, "image.tar"))
manifest = json.load(tf.extractfile("manifest.json"))[0]
config = json.load(tf.extractfile(manifest["Config"]))
base_layers = len(base["RootFS"]["Layers"])
res["imageConfig"] = config.get("config")
res["configTopLevel"] = {k: config.get(k) for k in ("architecture", "os", "variant", "author") if k in config}
hist = config.get("history", [])
res["configHistory"] = [
    {"created_by": h.get("created_by"), "empty_layer": h.get("empty_layer", False),
     "empty_layer_present": "empty_layer" in h, "comment": h.get("comment"),
     "fromBase": i < int(o.base_history_count)}
    for i, h in enumerate(hist)]
diff_ids = config["rootfs"]["diff_ids"]
res["baseLayerCount"] = base_layers
res["layerCount"] = len(diff_ids)
res["baseDiffIdsMatch"] = diff_ids[:base_layers] == base["RootFS"]["Layers"]

TYPES = {tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink",
         tarfile.LNKTYPE: "hardlink", tarfile.CHRTYPE: "char", tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo"}

def listing(member_name):
    data = tf.extractfile(member_name).read()
    lt = tarfile.open(fileobj=io.BytesIO(data))
    out = []
    for m in lt.getmembers():
        e = {"path": m.name.rstrip("/").removeprefix("./"), "type": TYPES.get(m.type, repr(m.type)),
             "mode": "%04o" % (m.mode & 0o7777), "uid": m.uid, "gid": m.gid,
             "size": m.size if m.isreg() else 0, "mtime": int(m.mtime)}
        if m.issym() or m.islnk(): e["linkTarget"] = m.linkname
        xattrs = sorted(k.removeprefix("SCHILY.xattr.") for k in m.pax_headers if k.startswith("SCHILY.xattr."))
        if xattrs: e["xattrs"] = xattrs
        if m.uname or m.gname: e["owner"] = "%s:%s" % (m.uname, m.gname)
        out.append(e)
    return out

# the k-th history entry that is not empty_layer made diff_ids[k]
nonempty = [i for i, h in enumerate(hist) if not h.get("empty_layer", False)]
layers = []
for k in range(base_layers, len(diff_ids)):
    hi = nonempty[k] if k < len(nonempty) else None
    layers.append({
        "index": k, "diffId": diff_ids[k], "historyIndex": hi,
        "createdBy": hist[hi].get("created_by") if hi is not None else None,
        "entries": listing(manifest["Layers"][k]),
    })
res["historyLayerMismatch"] = len(nonempty) != len(diff_ids)
res["layers"] = layers
json.dump(mask_tree(res), open(o.out, "w"), indent=2, ensure_ascii=False)
open(o.out, "a").write("\n")
PY

# ---------- the cases ----------
T=$ROOT/examples/tutorials
C=$ROOT/test/golden/contexts
PIPARG=(--build-arg "PIP_INDEX_URL=$INDEX_URL")
declare -A MODES=([copy-rules]="secret=0600")
NOSYNTAX='/^# syntax=/d'
ARG_BEFORE_PIP='/^RUN .*pip3\{0,1\} install/i ARG PIP_INDEX_URL'
C_SYNTAX='"removed the `# syntax=docker/dockerfile:1` line (BuildKit would fetch the frontend from Docker Hub, unreachable)"'
C_ARG='"inserted `ARG PIP_INDEX_URL` on its own line just before the RUN that calls pip; built with --build-arg PIP_INDEX_URL='"$INDEX_URL"' (the offline PEP 503 index)"'
from_change() { printf '"FROM %s -> FROM %s (the only base image in dockerd, offline)"' "$1" "$BASE_IMAGE"; }

# sed programs: one command per line (GNU sed's one-line `i` takes the rest of its line)
prog() { printf '%s\n' "$@"; }
case_docs() {
  record docs "$T/docs" "[$C_SYNTAX, $(from_change python:3.8-slim-buster), $C_ARG]" \
    "$(prog "$NOSYNTAX" "s#^FROM python:3.8-slim-buster#FROM $BASE_IMAGE#" "$ARG_BEFORE_PIP")" "${PIPARG[@]}"
}
case_lab() {
  record lab "$T/lab" "[$(from_change python:3-alpine), $C_ARG]" \
    "$(prog "s#^FROM python:3-alpine#FROM $BASE_IMAGE#" "$ARG_BEFORE_PIP")" "${PIPARG[@]}"
}
case_course() {
  record course "$T/course" "[$(from_change python:3.9-slim), $C_ARG]" \
    "$(prog "s#^FROM python:3.9-slim#FROM $BASE_IMAGE#" "$ARG_BEFORE_PIP")" "${PIPARG[@]}"
}
case_course-multistage() {
  local c_apt='"build stage only: inserted `ARG APT_MIRROR` and `RUN echo \"deb $APT_MIRROR bookworm main\" > /etc/apt/sources.list` before the tutorial'"'"'s apt-get RUN (the base image has no apt sources); built with --build-arg APT_MIRROR=<the Debian mirror, masked>. The final stage, the only one the image records, is unchanged apart from FROM"'
  record course-multistage "$T/course-multistage" \
    "[$(from_change 'python:3.9-slim (both stages, AS build kept)'), $C_ARG, $c_apt]" \
    "$(prog "s#^FROM python:3.9-slim#FROM $BASE_IMAGE#" "$ARG_BEFORE_PIP" \
        '/^RUN apt-get update/i ARG APT_MIRROR\' \
        'RUN echo "deb $APT_MIRROR bookworm main" > /etc/apt/sources.list')" \
    "${PIPARG[@]}" --build-arg "APT_MIRROR=$(mirror_url)"
}
case_blog() {
  record blog "$T/blog" "[$(from_change ubuntu), $C_ARG, \"apt-get update / apt-get install -y python3 python3-pip run unchanged against the base image, which has no apt sources: update fetches nothing and both packages are already installed\"]" \
    "$(prog "s#^FROM ubuntu\$#FROM $BASE_IMAGE#" "$ARG_BEFORE_PIP")" "${PIPARG[@]}"
}
case_config-heavy() { record config-heavy "$C/config-heavy" '[]' ''; }
case_copy-rules() { record copy-rules "$C/copy-rules" '[]' ''; }
case_copy-chmod-symbolic() { record copy-chmod-symbolic "$C/copy-chmod-symbolic" '[]' ''; }
case_multistage() { record multistage "$C/multistage" '[]' ''; }

ALL=(docs lab course course-multistage blog config-heavy copy-rules copy-chmod-symbolic multistage)
preflight
DOCKER_VERSION=$($DOCKER version --format '{{.Server.Version}}')
$DOCKER image inspect "$BASE_IMAGE" > "$TMP/base-inspect.json"
BASE_HISTORY_COUNT=$($DOCKER history -q "$BASE_IMAGE" | wc -l)
cases=("$@"); ((${#cases[@]})) || cases=("${ALL[@]}")
for c in "${cases[@]}"; do
  declare -F "case_$c" >/dev/null || die "unknown case '$c' (known: ${ALL[*]})"
  "case_$c"
done
# the repo's formatter owns JSON layout; without it the files are still valid JSON
written=(); for c in "${cases[@]}"; do written+=("$OUT/$c.json"); done
(cd "$ROOT" && npx --no-install biome format --write "${written[@]}" >/dev/null 2>&1) \
  || log "biome not available: JSON left as python wrote it (run npx biome format --write test/golden)"
log "done: ${#cases[@]} case(s) in ${OUT#"$ROOT"/}"
