#!/usr/bin/env bash
# Probes an SseChat endpoint: exit 0 when http://HOST:PORT/PATH answers 200, 1 otherwise.
#   healthcheck.sh [PATH] [PORT] [HOST]    defaults: /healthz, the first of $ASPNETCORE_HTTP_PORTS or 8080, 127.0.0.1
# Needs nothing but bash (its /dev/tcp): the ASP.NET Core runtime image has neither curl nor wget. Installing one
# would add a package layer (and its security updates) to every image for the sake of a probe, and a probe mode in
# the app itself would start a second .NET runtime every few seconds. The Dockerfile's HEALTHCHECK, compose.yaml
# and scripts/cluster.sh all use this one script.
set -u
path=${1:-/healthz}
port=${2:-${ASPNETCORE_HTTP_PORTS:-8080}}
port=${port%%[,;]*}
host=${3:-127.0.0.1}

{ exec 3<>"/dev/tcp/$host/$port"; } 2>/dev/null || exit 1
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
IFS= read -r -t 5 status <&3 || exit 1
[[ $status == HTTP/1.[01]\ 200\ * ]]
