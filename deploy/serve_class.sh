#!/usr/bin/env bash
# Serve the dashboard to a whole class: N Streamlit workers behind nginx, with sticky sessions.
#
#   deploy/serve_class.sh N [PORT]     e.g.  deploy/serve_class.sh 2 8690
#
# Workers listen on 127.0.0.1:BASE .. BASE+N-1 (BASE = $LR_WORKER_BASE, default 8650); nginx
# listens on 127.0.0.1:PORT (default 8690) and hashes each browser, by a cookie it sets, onto
# one worker (see deploy/nginx.conf.template). To reach it from other machines, put it behind
# the school's reverse proxy or see deploy/SCALING.md. Everything runs as ordinary processes
# with files in one temporary directory; Ctrl-C (or TERM) stops them all and removes it.
# Overrides: LR_APP (the page, default app.py), LR_PYTHON (default .venv/bin/python), NGINX.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=${LR_APP:-$ROOT/app.py}
PY=${LR_PYTHON:-$ROOT/.venv/bin/python}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
BASE=${LR_WORKER_BASE:-8650}
MAX_WORKERS=40
N=${1:-}
PORT=${2:-8690}

die() { echo "serve_class: $*" >&2; exit 2; }

is_int() { [[ $1 =~ ^[0-9]+$ ]]; }

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

healthy() {  # true once $1/_stcore/health answers "ok"
  "$PY" -c 'import sys, urllib.request as u
sys.exit(u.urlopen(sys.argv[1] + "/_stcore/health", timeout=2).read() != b"ok")' "$1" 2>/dev/null
}

check_args() {
  [[ $# -ge 1 && $# -le 2 ]] || die "usage: deploy/serve_class.sh N [PORT]  (N workers, 1-$MAX_WORKERS)"
  is_int "$N" && ((N >= 1 && N <= MAX_WORKERS)) || die "N must be a whole number from 1 to $MAX_WORKERS"
  is_int "$PORT" && ((PORT >= 1024 && PORT <= 65535)) || die "PORT must be from 1024 to 65535"
  is_int "$BASE" && ((BASE >= 1024 && BASE + N - 1 <= 65535)) || die "bad LR_WORKER_BASE: $BASE"
  ((PORT < BASE || PORT >= BASE + N)) || die "PORT $PORT is one of the workers' ports"
  [[ -f $APP ]] || die "no page at $APP"
  APP=$(realpath "$APP")  # the workers start in the repository
  [[ -x $PY ]] || die "no Python at $PY (run 'make run' once, or set LR_PYTHON)"
  [[ -x $NGINX ]] || die "no nginx (Debian: apt-get install -y nginx)"
  local p
  for p in "$PORT" $(seq "$BASE" $((BASE + N - 1))); do
    ! port_busy "$p" || die "port $p on 127.0.0.1 is already in use"
  done
}

PIDS=()
TMP=""

stop_all() {  # TERM every process started here, wait up to 10 s, then KILL what is left
  trap - INT TERM EXIT
  local pid i
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 100); do
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && break; pid=""; done
    [[ -z ${pid:-} ]] && break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [[ -n $TMP ]] && rm -rf "$TMP"
  echo "serve_class: stopped" >&2
}

start_workers() {  # from the repository, so that they read its .streamlit/config.toml
  local i port
  cd "$ROOT"
  for ((i = 0; i < N; i++)); do
    port=$((BASE + i))
    # No file watcher and no forced full garbage collection after every run: both cost CPU
    # on every rerun and matter only while developing (see deploy/SCALING.md).
    "$PY" -m streamlit run "$APP" --server.headless true --server.address 127.0.0.1 \
      --server.port "$port" --browser.gatherUsageStats false \
      --server.fileWatcherType none --runner.postScriptGC false \
      >"$TMP/worker-$port.log" 2>&1 &
    PIDS+=($!)
  done
}

wait_healthy() {  # $1: URL, $2: pid, $3: log file
  local i
  for i in $(seq 600); do
    healthy "$1" && return 0
    kill -0 "$2" 2>/dev/null || { tail -n 20 "$3" >&2; die "the server for $1 exited"; }
    sleep 0.1
  done
  die "$1 did not become healthy within 60 s (log: $3)"
}

write_nginx_conf() {
  local servers="" i
  for ((i = 0; i < N; i++)); do
    servers+="        server 127.0.0.1:$((BASE + i));"$'\n'
  done
  mkdir -p "$TMP/nginx"
  sed -e "s|@TMP@|$TMP/nginx|g" -e "s|@PORT@|$PORT|g" "$ROOT/deploy/nginx.conf.template" |
    awk -v servers="${servers%$'\n'}" '$1 == "@SERVERS@" { print servers; next } { print }' \
      >"$TMP/nginx/nginx.conf"
}

start_nginx() {  # in the foreground of its own process; as nobody when started by root
  local run=() cmd=("$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log" -c "$TMP/nginx/nginx.conf")
  if [[ $(id -u) == 0 ]]; then
    chmod 755 "$TMP"
    chown -R nobody:nogroup "$TMP/nginx"
    run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  fi
  "${run[@]}" "${cmd[@]}" -t -q || die "nginx rejected $TMP/nginx/nginx.conf"
  "${run[@]}" "${cmd[@]}" -g "daemon off;" &
  PIDS+=($!)
}

main() {
  check_args "$@"
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/serve-class.XXXXXX")
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  start_workers
  local i
  for ((i = 0; i < N; i++)); do
    wait_healthy "http://127.0.0.1:$((BASE + i))" "${PIDS[i]}" "$TMP/worker-$((BASE + i)).log"
  done
  write_nginx_conf
  start_nginx
  wait_healthy "http://127.0.0.1:$PORT" "${PIDS[N]}" "$TMP/nginx/error.log"
  echo "serve_class: $N workers (127.0.0.1:$BASE-$((BASE + N - 1))) behind" \
    "http://127.0.0.1:$PORT/ - Ctrl-C stops them all (logs in $TMP)"
  set +e
  wait -n "${PIDS[@]}"
  echo "serve_class: a server exited (status $?); stopping the rest" >&2
  exit 1
}

main "$@"
