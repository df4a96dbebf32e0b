#!/usr/bin/env node
// What one message costs Redis, in Redis's own CPU time, when messages come at a chat's pace (100 a second by
// default, so Redis sleeps between them as it does under the light-load target): SseChat's append script (read from
// SseChat.Web/Bus/RedisChatBus.cs, so it is the one the app runs), the same script without its template fill, an
// EVALSHA that does nothing, and a bare SPUBLISH (what the seed's design sends). Each publish reaches 3 sharded
// subscribers, as with 3 instances. Starts its own redis-server on a free loopback port; interleaved rounds; prints
// the median and range of Redis CPU per message (from /proc/PID/schedstat) for each variant.
//
//   node load-tests/tools/redis-append-cost.js [ROUNDS=3] [SECONDS=8] [RATE=100]
'use strict';

const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const [rounds, seconds, rate] = [3, 8, 100].map((d, i) => Number(process.argv[2 + i] ?? d));
const web = path.join(__dirname, '..', '..', 'SseChat.Web', 'Bus');

// The app's script: LuaFill, then AppendAndPublish's body, its @parameters as KEYS and ARGV.
function appScript() {
  const bus = fs.readFileSync(path.join(web, 'RedisChatBus.cs'), 'utf8');
  const body = /AppendAndPublish = LuaScript\.Prepare\(RedisWireFormat\.LuaFill \+ """\n([\s\S]*?)"""\);/.exec(bus);
  const fill = /LuaFill = "(.*)";/.exec(fs.readFileSync(path.join(web, 'RedisWireFormat.cs'), 'utf8'));
  if (!body || !fill) {
    throw new Error('AppendAndPublish or LuaFill not found where this tool expects them: update its patterns');
  }
  const names = { clientKey: 'KEYS[1]', seqKey: 'KEYS[2]', logKey: 'KEYS[3]', maxLength: 'ARGV[1]', payload: 'ARGV[2]',
    dedupeSeconds: 'ARGV[3]', channel: 'ARGV[4]', framePrefix: 'ARGV[5]' };
  const lua = JSON.parse(`"${fill[1]}"`) + body[1].replace(/@(\w+)/g, (_, n) => {
    if (!names[n]) throw new Error(`unknown script parameter @${n}`);
    return names[n];
  });
  return lua;
}

const variants = {
  append: appScript(),
  // the same commands, the frame's prefix concatenated instead of filled from a template
  'append-no-fill': appScript().replace(/^local function fill.*\n/, '')
    .replace("fill(ARGV[5], {i = id, s = tostring(seq)}) .. ARGV[2]", "id .. '\\n' .. seq .. '\\n' .. ARGV[2]"),
  'evalsha-empty': "return {1, '1-1'}",
  spublish: null,
};
if (!variants['append-no-fill'].includes("id .. '\\n'")) {
  throw new Error('the append script changed: update the append-no-fill variant');
}

const resp = (...args) => `*${args.length}\r\n${args.map(a => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join('')}`;
const payload = JSON.stringify({ k: 0, r: 'lobby', ts: Date.now(), n: 'driver-user-123', t: 'x'.repeat(100),
  c: 'c1234567890abcdef', a: 'author-abcdef0123456789' });

function freePort() {
  return new Promise(resolve => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
    s.on('data', () => {}); // replies and published messages are drained, not read
  });
}

const pause = ms => new Promise(r => setTimeout(r, ms));

async function measure(pid, port, variant) {
  const client = await connect(port);
  const subscribers = await Promise.all([0, 1, 2].map(() => connect(port)));
  subscribers.forEach(s => s.write(resp('SSUBSCRIBE', '{lobby}:events')));
  const script = variants[variant];
  const sha = script && crypto.createHash('sha1').update(script).digest('hex');
  if (script) client.write(resp('SCRIPT', 'LOAD', script));
  await pause(300);
  const cpuNs = () => Number(fs.readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  const total = seconds * rate;
  const start = Date.now();
  const before = cpuNs();
  for (let n = 1; n <= total;) {
    const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000));
    for (; n <= due; n++) {
      client.write(sha
        ? resp('EVALSHA', sha, 3, `{lobby}:cmid:${variant}-${n}`, '{lobby}:seq', '{lobby}:log', 1000, payload, 120,
          '{lobby}:events', '\u0001i\n\u0001s\n')
        : resp('SPUBLISH', '{lobby}:events', payload));
    }
    await pause(2);
  }
  await pause(300);
  const usPerMessage = (cpuNs() - before) / 1000 / total;
  [client, ...subscribers].forEach(s => s.destroy());
  return usPerMessage;
}

async function main() {
  const port = await freePort();
  const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' });
  try {
    for (let i = 0; i < 100; i++) {
      try { (await connect(port)).destroy(); break; } catch { await pause(100); }
    }
    const results = Object.fromEntries(Object.keys(variants).map(v => [v, []]));
    for (let r = 0; r < rounds; r++) {
      for (const v of Object.keys(variants)) {
        results[v].push(await measure(redis.pid, port, v));
      }
    }
    const median = xs => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
    console.log(`Redis CPU per message at ${rate} msg/s, 3 sharded subscribers, ${rounds} interleaved rounds of ${seconds} s`);
    for (const [v, xs] of Object.entries(results)) {
      const r = xs.map(Math.round);
      console.log(`${v.padEnd(16)} ${median(xs).toFixed(0).padStart(5)} µs (${Math.min(...r)}–${Math.max(...r)})  ${JSON.stringify(r)}`);
    }
  } finally {
    redis.kill();
  }
}

main().catch(e => { console.error(e.message); process.exitCode = 1; });
