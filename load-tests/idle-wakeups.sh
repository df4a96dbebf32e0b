#!/usr/bin/env bash
# What an idle instance does on its own: a fresh redis-server and one SseChat instance (APP, a `dotnet publish` of
# SseChat.Web) on free loopback ports, STREAMS idle SSE streams (default 100) held by one Python process, 10 s to
# settle (SETTLE, in seconds), then 20 s measured from /proc: the instance's context switches a second (every thread's voluntary and
# involuntary, summed: each is a thread woken or put to sleep) and its CPU ticks (user + system, 1/100 s). No message
# is posted; the streams get only the heartbeat. Give several APPs to compare them in turn; repeat for rounds.
#
#   load-tests/idle-wakeups.sh APP [APP...]
set -u
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
streams=${STREAMS:-100}
cat > "$work/hold.py" <<'PY'
import selectors, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    sel.register(s, selectors.EVENT_READ)
print("open", flush=True)
while True:
    for key, _ in sel.select():
        if not key.fileobj.recv(65536):
            sys.exit("a stream was closed")
PY
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
switches() { cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n}'; }
for app in "$@"; do
  app=$(cd "$app" && pwd)
  rport=$(free_port); port=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
  rpid=$!
  env Redis__Configuration="127.0.0.1:$rport" ASPNETCORE_ENVIRONMENT=Production Limits__StreamsPerAddress=100000 \
    dotnet "$app/SseChat.Web.dll" --contentRoot "$app" --urls "http://127.0.0.1:$port" > "$work/app.log" 2>&1 &
  apid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  python3 "$work/hold.py" "$port" "$streams" > "$work/hold.log" 2>&1 &
  hpid=$!
  for _ in $(seq 100); do grep -q open "$work/hold.log" && break; sleep 0.1; done
  sleep "${SETTLE:-10}"
  s0=$(switches "$apid"); t0=$(ticks "$apid")
  sleep 20
  s1=$(switches "$apid"); t1=$(ticks "$apid")
  alive=$(kill -0 "$hpid" 2>/dev/null && echo yes || echo no)
  echo "$(basename "$app") streams=$streams held=$alive switches_per_s=$(( (s1 - s0) / 20 )) cpu_ticks=$(( t1 - t0 ))"
  kill "$hpid" "$apid" "$rpid" 2>/dev/null; wait "$hpid" "$apid" "$rpid" 2>/dev/null
done
