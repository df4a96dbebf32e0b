#!/usr/bin/env bash
# CPU per message post on one instance, posted to flat out: a fresh redis-server and one SseChat instance (APP, a
# `dotnet publish` of SseChat.Web) on free loopback ports, the page fetched once for its cookies and antiforgery
# token, then wrk posting plain forms (the 303 path, as the peers' driver posts) on 4 connections: 5 s of warm-up,
# 10 s measured. Prints one line per APP: posts, non-2xx/3xx answers, and the instance's and Redis's CPU per post in
# µs (from /proc, user + system). Give several APPs to compare them in turn; repeat for interleaved rounds.
#
#   load-tests/post-cost.sh APP [APP...]
set -u
command -v wrk >/dev/null || { echo "post-cost.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = os.getenv("COOKIE")
wrk.body = "text=hello+there+this+is+a+message&__RequestVerificationToken=" .. os.getenv("TOKEN")
LUA
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
lift="Limits__PostBurst=100000 Limits__PostsPerSecond=100000 Limits__AddressPostsPerSecond=1000000"
for app in "$@"; do
  app=$(cd "$app" && pwd)
  rport=$(free_port); port=$(free_port)
  redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" > "$work/redis.log" 2>&1 &
  rpid=$!
  env Redis__Configuration="127.0.0.1:$rport" ASPNETCORE_ENVIRONMENT=Production $lift \
    dotnet "$app/SseChat.Web.dll" --contentRoot "$app" --urls "http://127.0.0.1:$port" > "$work/app.log" 2>&1 &
  apid=$!
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
  page=$(curl -s -c "$work/jar" "http://127.0.0.1:$port/")
  TOKEN=$(grep -o '__RequestVerificationToken[^>]*value="[^"]*"' <<< "$page" | head -1 | sed 's/.*value="//;s/"$//')
  COOKIE=$(sed 's/^#HttpOnly_//' "$work/jar" | awk '!/^#/ && NF>=7 {printf "%s=%s; ", $6, $7}')
  export TOKEN COOKIE
  wrk -t1 -c4 -d5 -s "$work/post.lua" "http://127.0.0.1:$port/messages" > /dev/null
  a0=$(ticks "$apid"); r0=$(ticks "$rpid")
  out=$(wrk -t1 -c4 -d10 -s "$work/post.lua" "http://127.0.0.1:$port/messages")
  a1=$(ticks "$apid"); r1=$(ticks "$rpid")
  n=$(grep -o '[0-9]* requests in' <<< "$out" | cut -d' ' -f1)
  bad=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' <<< "$out" | grep -o '[0-9]*$')
  hz=$(getconf CLK_TCK)
  echo "$(basename "$app") posts=$n refused=${bad:-0} app_us_per_post=$(( (a1 - a0) * 1000000 / hz / n )) redis_us_per_post=$(( (r1 - r0) * 1000000 / hz / n ))"
  kill "$apid" "$rpid"; wait "$apid" "$rpid" 2>/dev/null
done
