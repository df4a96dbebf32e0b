#!/usr/bin/env node
// Each shard's share of a many-room load on a Redis Cluster, and what each instance receives. Against a running
// `scripts/cluster.sh up 3 --redis-cluster` (instances with lifted post limits): ROOMS rooms with STREAMS streams
// each, every stream of room r on instance r mod N (so an instance holds ROOMS/N rooms), then RATE messages a second
// spread evenly over the rooms, for SECONDS, each posted through an instance chosen round robin. Reads INFO
// commandstats, INFO stats and CLUSTER INFO of every node before and after, and CLIENT LIST (each instance's
// shard subscriptions per node). Then, for contrast, the same number of messages of the same size published with
// classic PUBLISH and with SPUBLISH straight to the cluster, and what each node received of those.
// Prints one JSON line.
//   node load-tests/tools/shard-share.js --urls http://127.0.0.1:5001,... --redis-ports 6380,...,6385 \
//     [--rooms 300] [--streams 10] [--rate 300] [--seconds 20] [--label TEXT]
'use strict';
const http = require('node:http');
const { execFileSync } = require('node:child_process');

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) =>
  a.startsWith('--') ? [...pairs, [a.slice(2), all[i + 1]]] : pairs, []));
const urls = args.urls.split(',');
const redisPorts = args['redis-ports'].split(',').map(Number);
const rooms = Number(args.rooms ?? 300);
const streamsPerRoom = Number(args.streams ?? 10);
const rate = Number(args.rate ?? 300);
const seconds = Number(args.seconds ?? 20);
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

const roomName = r => `share${r}`;
const cli = (port, ...command) => execFileSync('redis-cli', ['-p', String(port), ...command], { encoding: 'utf8' });

function request(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, res => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', c => { data += c; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// One stream: counts the message events it receives (unnamed events whose fragment says data-kind="message").
function openStream(url) {
  return new Promise((resolve, reject) => {
    const stream = { messages: 0, bytes: 0 };
    const req = http.get(url, { headers: { Accept: 'text/event-stream' } }, res => {
      if (res.statusCode !== 200) return reject(new Error(`${url}: HTTP ${res.statusCode}`));
      res.setEncoding('utf8');
      let opened = false;
      res.on('data', chunk => {
        stream.bytes += chunk.length;
        stream.messages += chunk.split('data-kind="message"').length - 1;
        if (!opened) { opened = true; resolve(stream); }
      });
    });
    req.on('error', reject);
    stream.close = () => req.destroy();
  });
}

// A room's page on an instance: its form token and the antiforgery cookie, to post there.
async function form(base, room) {
  const page = await request(`${base}/rooms/${room}`);
  const token = /name="__RequestVerificationToken"[^>]*value="([^"]+)"/.exec(page.body)?.[1];
  const cookie = (page.headers['set-cookie'] ?? []).map(c => c.split(';')[0]).join('; ');
  if (!token) throw new Error(`${base}/rooms/${room}: no form token (HTTP ${page.status})`);
  return { token, cookie };
}

// Per node: its role and port, command calls, bytes in and out, cluster-bus publish messages.
function snapshot() {
  return redisPorts.map(port => {
    const info = cli(port, 'info', 'all');
    const field = name => Number((new RegExp(`^${name}:(\\d+)`, 'm').exec(info) ?? [])[1] ?? 0);
    const calls = {};
    for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[m[1]] = Number(m[2]);
    const cluster = cli(port, 'cluster', 'info');
    const cfield = name => Number((new RegExp(`^${name}:(\\d+)`, 'm').exec(cluster) ?? [])[1] ?? 0);
    return {
      port, primary: /^role:master/m.test(info), calls,
      netIn: field('total_net_input_bytes'), netOut: field('total_net_output_bytes'),
      busPublishReceived: cfield('cluster_stats_messages_publish_received'),
      busPublishShardReceived: cfield('cluster_stats_messages_publishshard_received'),
    };
  });
}

function diff(before, after) {
  return after.map((a, i) => {
    const b = before[i];
    const calls = {};
    for (const [k, v] of Object.entries(a.calls)) if (v - (b.calls[k] ?? 0) > 0) calls[k] = v - (b.calls[k] ?? 0);
    return {
      port: a.port, primary: a.primary, calls, commands: Object.values(calls).reduce((s, v) => s + v, 0),
      netIn: a.netIn - b.netIn, netOut: a.netOut - b.netOut,
      busPublish: a.busPublishReceived - b.busPublishReceived, busPublishShard: a.busPublishShardReceived - b.busPublishShardReceived,
    };
  });
}

// Shard subscriptions of each instance's connections, per node (CLIENT LIST ssub=, name "ssechat").
function subscriptions() {
  return redisPorts.map(port => ({
    port,
    shardChannelsByClient: cli(port, 'client', 'list').split('\n').filter(l => / ssub=[1-9]/.test(l))
      .map(l => Number(/ ssub=(\d+)/.exec(l)[1])),
  }));
}

const sleep = ms => new Promise(r => setTimeout(r, ms));

(async () => {
  const streams = [];
  for (let r = 0; r < rooms; r++) {
    const base = urls[r % urls.length];
    for (let s = 0; s < streamsPerRoom; s++) streams.push({ room: r, stream: await openStream(`${base}/rooms/${roomName(r)}/events`) });
  }
  const forms = [];
  for (let r = 0; r < rooms; r++) forms.push(await form(urls[r % urls.length], roomName(r)));
  await sleep(3000); // presence notices of the openings die down
  const subs = subscriptions();
  const before = snapshot();
  const startCounts = streams.map(s => s.stream.messages);

  const total = Math.round(rate * seconds);
  const text = 'x'.repeat(100);
  let accepted = 0, failed = 0;
  const started = Date.now();
  const pending = [];
  for (let n = 0; n < total; n++) {
    const due = started + (n * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    const r = n % rooms;
    const { token, cookie } = forms[r];
    // Posted through the instance that rendered the form: the cookie and token are that page's.
    pending.push(request(`${urls[r % urls.length]}/rooms/${roomName(r)}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, 'HX-Request': 'true' },
      body: new URLSearchParams({ text: `${text} ${n}`, __RequestVerificationToken: token }).toString(),
    }).then(res => { if (res.status === 200) accepted++; else failed++; }, () => { failed++; }));
  }
  await Promise.all(pending);
  await sleep(3000);
  const after = snapshot();
  const delivered = streams.reduce((sum, s, i) => sum + s.stream.messages - startCounts[i], 0);
  streams.forEach(s => s.stream.close());

  // Contrast on the same cluster, no app: the same count of 400-byte messages by PUBLISH and by SPUBLISH, to one
  // node each; what every node receives.
  const payload = 'y'.repeat(400);
  const contrast = {};
  for (const command of ['publish', 'spublish']) {
    const b = snapshot();
    const lines = [];
    for (let n = 0; n < total; n++) lines.push(`${command.toUpperCase()} contrast{${roomName(n % rooms)}} ${payload}`);
    execFileSync('redis-cli', ['-c', '-p', String(redisPorts[0])], { input: lines.join('\n') + '\n', encoding: 'utf8', maxBuffer: 1 << 26 });
    contrast[command] = diff(b, snapshot());
  }

  console.log(JSON.stringify({
    label: args.label ?? null, rooms, streamsPerRoom, instances: urls.length, rate, seconds, posts: total, accepted, failed,
    expectedDeliveries: accepted * streamsPerRoom, delivered, subscriptions: subs, nodes: diff(before, after), contrast,
  }));
  agent.destroy();
  process.exit(0);
})().catch(e => { console.error(e); process.exit(1); });
