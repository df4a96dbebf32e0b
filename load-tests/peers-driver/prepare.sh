#!/usr/bin/env bash
# A copy of the peers' harness (../shared/peers, after `npm ci` there) with the driver made cheaper for SSE:
#
#   load-tests/peers-driver/prepare.sh PEERS DEST      -> DEST/run.sh, DEST/driver.js, DEST/merge-drivers.js
#
# driver.patch changes these things and nothing else; every system is measured through the same patched driver:
#   - SSE streams are read off raw sockets (net's `onread` into one shared buffer): the chunked framing, the SSE
#     fields and the marker's digits are parsed as bytes where they lie, no string and no stream event per read.
#     The same events counted; 0.62-0.70x the driver's CPU per delivery at 300 clients x 1,200-1,600 msg/s;
#   - DRIVERS=N in run.sh's environment runs N driver processes, each with 1/N of the clients and of the rate and its
#     own marker letter (--marker); they wait for each other after the warm-up (--start-barrier), so their measured
#     windows begin together; merge-drivers.js makes their JSON lines one and says whether the drivers were the
#     limit ("driver_limited": a warm-up that did not drain, an event loop over 100 ms late at p99, windows apart).
#     One Node thread otherwise caps what the driver takes in (about 450,000 SSE events a second here) below what
#     the ladder's top rates send.
#   - --sse-resume (SSE only, off unless given): a stream the server ends is opened again as a browser's EventSource
#     does, after the server's `retry:` hint, with the last `id:` seen as Last-Event-ID; the JSON line counts
#     "reconnects", and "resets": SseChat's answer to a resume point its log no longer holds (a browser reloads its
#     history; the driver counts what it missed as lost). Without it a stream cut as too slow counts every later
#     message as lost.
#   - "failed_msgs" and "lost_of_acknowledged" in the JSON line: the measured window's posts that visibly failed (503
#     "busy" among them), and the deliveries missing of the others ("lost" counts a refused message's too).
#   - DRIVER_NODE_FLAGS in run.sh's environment goes to each driver's node (e.g. --cpu-prof) when DRIVERS=N.
# The copy links PEERS' node_modules and peers/ (the SignalR peer's build stays there).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
[ $# -eq 2 ] || { sed -n '2,24p' "$0" >&2; exit 2; }
peers=$(cd "$1" && pwd)
mkdir -p "$2"
dest=$(cd "$2" && pwd)
cp "$peers/driver.js" "$peers/run.sh" "$peers/package.json" "$dest/"
chmod u+w "$dest/driver.js" "$dest/run.sh"
ln -sfn "$peers/node_modules" "$dest/node_modules"
ln -sfn "$peers/peers" "$dest/peers"
(cd "$dest" && patch -s -p1 <"$here/driver.patch")
cp "$here/merge-drivers.js" "$dest/"
