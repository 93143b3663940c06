#!/usr/bin/env bash
# The main job: build the tutorial's Flask app (examples/python-docker) with slipway and run it,
# printing the HTTP answer. Docker Hub and PyPI are replaced by the offline hub (fixtures/hub).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
HUB=$(bash fixtures/hub/build.sh | tail -n 1)
export SLIPWAY_ROOT=${SLIPWAY_ROOT:-/var/lib/slipway}
node fixtures/hub/import.mjs "$HUB"

INDEX_PORT=3141  # the port the hub's pip.conf names
node fixtures/hub/serve.mjs --dir "$HUB" --port "$INDEX_PORT" > /tmp/slipway-hub-serve.log 2>&1 &
HUB_PID=$!
APP_PORT=${APP_PORT:-5000}
# The tutorial's port, unless something already listens there (a registry, say): then a free one.
if (exec 3<>"/dev/tcp/127.0.0.1/$APP_PORT") 2>/dev/null; then
  busy=$APP_PORT
  APP_PORT=$(node -e 'const s = require("node:net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
  echo "port $busy is in use on this machine: publishing the app on $APP_PORT instead" >&2
fi
cleanup() {
  bin/slipway.js rm -f python-docker-demo >/dev/null 2>&1 || true
  kill "$HUB_PID" 2>/dev/null || true
}
trap cleanup EXIT

bin/slipway.js build --progress=plain -t python-docker examples/python-docker
bin/slipway.js images python-docker
bin/slipway.js rm -f python-docker-demo >/dev/null 2>&1 || true
bin/slipway.js run -d -p "$APP_PORT:5000" --name python-docker-demo python-docker
for _ in $(seq 1 100); do
  if answer=$(curl -fsS "http://127.0.0.1:$APP_PORT/" 2>/dev/null); then
    echo "GET http://127.0.0.1:$APP_PORT/ -> $answer"
    bin/slipway.js ps
    bin/slipway.js stop python-docker-demo >/dev/null
    exit 0
  fi
  sleep 0.1
done
echo "the app did not answer on port $APP_PORT" >&2
bin/slipway.js logs python-docker-demo >&2 || true
exit 1
