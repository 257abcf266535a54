#!/usr/bin/env bash
# Serve the dashboard to a whole class: N Streamlit workers behind nginx, with sticky sessions,
# kept alive by supervisord.
#
#   deploy/serve_class.sh N [PORT]     e.g.  deploy/serve_class.sh 2 8690
#
# Workers listen on 127.0.0.1:BASE .. BASE+N-1 (BASE = $LR_WORKER_BASE, default 8650); nginx
# listens on 127.0.0.1:PORT (default 8690) and keeps each browser, by a cookie, on one worker
# (see deploy/nginx.conf.template). supervisord (deploy/supervisord.conf.template; installed
# into the project's .venv from deploy/requirements.txt when missing) starts the workers and
# nginx and starts again any that dies; while a worker is down, nginx sends its browsers to the
# others. To reach it from other machines, put it behind the school's reverse proxy or see
# deploy/SCALING.md. Everything runs as ordinary processes with files in one temporary
# directory; Ctrl-C (or TERM) stops them all and removes it.
# nginx compresses what the page loads (brotli when Debian's libnginx-mod-http-brotli-filter is
# installed, else gzip; LR_BROTLI=0 turns brotli off) and caches the compressed assets; the
# workers compress the websocket's messages (permessage-deflate; LR_WS_COMPRESSION=false: not).
# A closed tab's session (its uploaded file, its state) is kept LR_SESSION_TTL seconds (default
# 30) for the tab to reconnect to, then dropped: a longer pause loses an uploaded file (the
# settings come back from the link). See "Memory" in deploy/SCALING.md.
# Overrides: LR_APP (the page, default app.py), LR_PYTHON (default .venv/bin/python), NGINX.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APP=${LR_APP:-$ROOT/app.py}
PY=${LR_PYTHON:-$ROOT/.venv/bin/python}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
BASE=${LR_WORKER_BASE:-8650}
MAX_WORKERS=40
BROTLI_MODULE=/usr/lib/nginx/modules/ngx_http_brotli_filter_module.so
N=${1:-}
PORT=${2:-8690}
SESSION_TTL=${LR_SESSION_TTL:-30}

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
  is_int "$SESSION_TTL" || die "LR_SESSION_TTL must be a whole number of seconds"
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

SUPERVISORD_PID=""
TMP=""

ctl() {  # supervisorctl on this server's socket
  "$PY" -m supervisor.supervisorctl -c "$TMP/supervisord.conf" "$@"
}

install_supervisor() {  # into the project's .venv, pinned, unless it is there already
  "$PY" -c 'import supervisor.supervisord' 2>/dev/null && return 0
  echo "serve_class: installing supervisor (deploy/requirements.txt) into $PY's environment" >&2
  "$PY" -m pip install --quiet --disable-pip-version-check -r "$ROOT/deploy/requirements.txt" ||
    die "could not install deploy/requirements.txt"
}

stop_all() {  # supervisord stops the workers and nginx; KILL whatever is left after 20 s
  trap - INT TERM EXIT
  local pids="" pid i
  if [[ -n $SUPERVISORD_PID ]] && kill -0 "$SUPERVISORD_PID" 2>/dev/null; then
    pids=$(timeout 5 "$PY" -m supervisor.supervisorctl -c "$TMP/supervisord.conf" pid all \
      2>/dev/null | grep -E '^[0-9]+$' | grep -vx 0 || true)
    kill -TERM "$SUPERVISORD_PID" 2>/dev/null || true
    for i in $(seq 200); do
      kill -0 "$SUPERVISORD_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$SUPERVISORD_PID" 2>/dev/null || true
  fi
  for pid in $pids; do  # each in its own process group (supervisord made it so)
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  wait 2>/dev/null || true
  [[ -n $TMP ]] && rm -rf "$TMP"
  echo "serve_class: stopped" >&2
}

fill() {  # fill(template, output, KEY=VALUE...): replace each @KEY@ in template by VALUE
  "$PY" -c 'import sys
text = open(sys.argv[1]).read()
for pair in sys.argv[3:]:
    key, value = pair.split("=", 1)
    text = text.replace("@" + key + "@", value)
open(sys.argv[2], "w").write(text)' "$@"
}

quoted() {  # the arguments as one shell-quoted command line, % doubled for supervisord
  local out
  out=$(printf '%q ' "$@")
  out=${out% }
  printf '%s' "${out//%/%%}"
}

write_nginx_conf() {
  local servers="" routes="" groups="" i j port other backup
  local modules="# brotli: not loaded (no $BROTLI_MODULE, or LR_BROTLI=0)" br="# (no brotli) "
  if [[ ${LR_BROTLI:-1} != 0 && -f $BROTLI_MODULE ]]; then
    modules="load_module $BROTLI_MODULE;"
    br=""
  fi
  for ((i = 0; i < N; i++)); do
    port=$((BASE + i))
    servers+="        server 127.0.0.1:$port max_fails=1 fail_timeout=2s;"$'\n'
    routes+="        \"$port\" w$port;"$'\n'
    groups+="    upstream w$port {"$'\n'
    for ((j = 0; j < N; j++)); do
      other=$((BASE + (i + j) % N))
      backup=$([[ $j == 0 ]] || echo " backup")
      groups+="        server 127.0.0.1:$other max_fails=1 fail_timeout=2s$backup;"$'\n'
    done
    groups+="        keepalive 8;"$'\n'"    }"$'\n'
  done
  # Streamlit's chunk for st.plotly_chart (its name carries a hash: ask the installed Streamlit).
  local plotly preload="# (no preload: Streamlit's PlotlyChart chunk not found)"
  plotly=$("$PY" -c 'import pathlib, streamlit
found = sorted(pathlib.Path(streamlit.__file__).parent.glob("static/static/js/PlotlyChart.*.js"))
print(found[0].name if len(found) == 1 else "")')
  if [[ $plotly =~ ^[A-Za-z0-9._-]+$ ]]; then
    preload="sub_filter '</head>' '<link rel=\"modulepreload\" crossorigin"
    preload+=" href=\"./static/js/$plotly\"></head>';"
  fi
  mkdir -p "$TMP/nginx"
  fill "$ROOT/deploy/nginx.conf.template" "$TMP/nginx/nginx.conf" "TMP=$TMP/nginx" \
    "PORT=$PORT" "SERVERS=${servers%$'\n'}" "ROUTES=${routes%$'\n'}" \
    "WORKER_UPSTREAMS=${groups%$'\n'}" "LOAD_MODULES=$modules" "BR=$br" \
    "PRELOAD=$preload"
}

NGINX_CMD=()

check_nginx() {  # nginx's command line, checked; as nobody when started by root
  local run=()
  if [[ $(id -u) == 0 ]]; then
    chmod 755 "$TMP"
    chown -R nobody:nogroup "$TMP/nginx"
    run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  fi
  NGINX_CMD=("${run[@]}" "$NGINX" -p "$TMP/nginx" -e "$TMP/nginx/error.log"
    -c "$TMP/nginx/nginx.conf")
  "${NGINX_CMD[@]}" -t -q || die "nginx rejected $TMP/nginx/nginx.conf"
}

write_supervisord_conf() {
  # No file watcher and no forced full garbage collection after every run: both cost CPU
  # on every rerun and matter only while developing (see deploy/SCALING.md).
  local worker
  worker=$(quoted "$PY" -m streamlit run "$APP" --server.headless true \
    --server.address 127.0.0.1 --browser.gatherUsageStats false \
    --server.fileWatcherType none --runner.postScriptGC false \
    --server.enableWebsocketCompression "${LR_WS_COMPRESSION:-true}" \
    --server.disconnectedSessionTTL "$SESSION_TTL")
  fill "$ROOT/deploy/supervisord.conf.template" "$TMP/supervisord.conf" "TMP=${TMP//%/%%}" \
    "ROOT=${ROOT//%/%%}" "N=$N" "BASE=$BASE" "WORKER=$worker" \
    "NGINX=$(quoted "${NGINX_CMD[@]}" -g "daemon off;")"
}

start_supervisord() {  # in the foreground of its own process, a child of this script
  "$PY" -m supervisor.supervisord -c "$TMP/supervisord.conf" >"$TMP/supervisord.out" 2>&1 &
  SUPERVISORD_PID=$!
}

wait_healthy() {  # $1: URL, $2: log file
  local i
  for i in $(seq 600); do
    healthy "$1" && return 0
    kill -0 "$SUPERVISORD_PID" 2>/dev/null || {
      tail -n 20 "$TMP/supervisord.out" "$2" >&2
      die "supervisord exited"
    }
    sleep 0.1
  done
  tail -n 20 "$2" >&2
  die "$1 did not become healthy within 60 s (log: $2)"
}

main() {
  check_args "$@"
  install_supervisor
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/serve-class.XXXXXX")
  trap stop_all EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  write_nginx_conf
  check_nginx
  write_supervisord_conf
  start_supervisord
  local i
  for ((i = 0; i < N; i++)); do
    wait_healthy "http://127.0.0.1:$((BASE + i))" "$TMP/worker-$((BASE + i)).log"
  done
  ctl start nginx >/dev/null || die "supervisord could not start nginx (log: $TMP/nginx)"
  wait_healthy "http://127.0.0.1:$PORT" "$TMP/nginx/error.log"
  echo "serve_class: $N workers (127.0.0.1:$BASE-$((BASE + N - 1))) behind" \
    "http://127.0.0.1:$PORT/ - supervisord restarts any that stops; Ctrl-C stops them all" \
    "(logs in $TMP)"
  set +e
  wait "$SUPERVISORD_PID"
  echo "serve_class: supervisord exited (status $?); stopping the rest" >&2
  exit 1
}

main "$@"
