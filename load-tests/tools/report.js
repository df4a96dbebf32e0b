#!/usr/bin/env node
// Tables for BENCHMARKS.md from the load driver's JSON lines (one run per line, as run-local.sh --json-out appends
// them). Medians with their range, as the report states every figure.
//
//   node load-tests/tools/report.js faults FILE.jsonl...     the fault table: one row per fault and duration
'use strict';

const fs = require('node:fs');

function readRuns(files) {
  const runs = [];
  for (const file of files) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      const text = line.trim();
      if (text.startsWith('{')) {
        runs.push(JSON.parse(text));
      }
    }
  }
  return runs;
}

function median(values) {
  const sorted = values.filter((v) => v !== null && v !== undefined).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function fmt(value, digits = 0) {
  if (value === null || value === undefined) return '–';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "median (min–max)", or the one value when they are all the same. */
function spread(values, digits = 0) {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return '–';
  const lo = Math.min(...present);
  const hi = Math.max(...present);
  const m = fmt(median(present), digits);
  return lo === hi ? m : `${m} (${fmt(lo, digits)}–${fmt(hi, digits)})`;
}

/** A fault's row name; a primary kill names the setup it ran on (the run's label: "Redis Cluster", "Sentinel"). */
function faultName(f, label) {
  switch (f.kind) {
    case 'redis-restart': return `Redis restart, down ${f.forSeconds} s`;
    case 'redis-kill': return `Redis killed (SIGKILL), down ${f.forSeconds} s`;
    case 'primary-kill': return `${label ?? 'Redis'} primary killed (SIGKILL), back as a replica after ${f.forSeconds} s`;
    case 'redis-pause': return `Redis paused (SIGSTOP), ${f.forSeconds} s`;
    case 'instance-kill': return 'instance killed (SIGKILL)';
    default: return f.kind;
  }
}

function faults(files) {
  const groups = new Map();
  for (const run of readRuns(files)) {
    if (!run.fault) continue;
    const key = faultName(run.fault, run.label);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }

  const rows = [
    '| fault | runs | acknowledged | refused | lost of acknowledged | duplicates | reconnects | time to recover (ms) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const [name, runs] of groups) {
    const lost = runs.map((r) => r.lost);
    const failed = runs.filter((r) => !r.ok).length;
    rows.push(`| ${name} | ${runs.length}${failed ? ` (${failed} failed)` : ''} | ${spread(runs.map((r) => r.postsAccepted))} | ` +
      `${spread(runs.map((r) => r.postsFailed))} | ${lost.reduce((a, b) => a + b, 0)} in ${runs.length} runs | ` +
      `${runs.reduce((a, r) => a + r.duplicates, 0)} | ${spread(runs.map((r) => r.fault.reconnects))} | ` +
      `${spread(runs.map((r) => r.fault.recoverMs))} |`);
  }
  return rows.join('\n');
}

/** Server CPU per delivered message (µs) of the last process given (run-local.sh lists redis-server last). */
function redisUsPerDelivery(run) {
  const redis = run.processes && run.processes[run.processes.length - 1];
  return redis && run.delivered > 0 ? (redis.cpuMs * 1000) / run.delivered : null;
}

function compare(files) {
  const groups = new Map();
  for (const run of readRuns(files)) {
    const key = run.label ?? '(no label)';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }

  const rows = [
    '| variant | runs | deliveries/s | server CPU per delivery (µs) | ratio | of which Redis (µs) | p99 (ms) | lost |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  let base = null;
  for (const [name, runs] of groups) {
    const cpu = median(runs.map((r) => r.serverCpuUsPerDelivery));
    base ??= cpu;
    rows.push(`| ${name} | ${runs.length} | ${spread(runs.map((r) => r.deliveriesPerSecond))} | ` +
      `${spread(runs.map((r) => r.serverCpuUsPerDelivery), 1)} | ${fmt(cpu / base, 2)}× | ${spread(runs.map(redisUsPerDelivery), 2)} | ` +
      `${spread(runs.map((r) => r.latencyP99Ms), 1)} | ${runs.reduce((a, r) => a + r.lost, 0)} |`);
  }
  return rows.join('\n');
}

/** RSS growth per open stream (KiB): the instances together, and Redis alone (run-local.sh lists it last). */
function kibPerStream(run, which) {
  const procs = run.processes || [];
  const picked = which === 'redis' ? procs.slice(-1) : procs.slice(0, -1);
  if (!picked.length || !run.streamsOpen) return null;
  return picked.reduce((a, p) => a + (p.rssOpenKiB - p.rssBeforeKiB), 0) / run.streamsOpen;
}

function memory(files) {
  const groups = new Map();
  for (const run of readRuns(files)) {
    const key = `${run.label ?? '(no label)'}|${run.clients}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(run);
  }

  const rows = [
    '| variant | streams | runs | instance KiB per stream | ratio | Redis KiB per stream | streams failed |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  const base = new Map();
  for (const [key, runs] of groups) {
    const [name, clients] = key.split('|');
    const inst = median(runs.map((r) => kibPerStream(r, 'instances')));
    if (!base.has(clients)) base.set(clients, inst);
    rows.push(`| ${name} | ${fmt(Number(clients))} | ${runs.length} | ${spread(runs.map((r) => kibPerStream(r, 'instances')), 1)} | ` +
      `${fmt(inst / base.get(clients), 2)}× | ${spread(runs.map((r) => kibPerStream(r, 'redis')), 2)} | ${runs.reduce((a, r) => a + r.streamsFailed, 0)} |`);
  }
  return rows.join('\n');
}

const [command, ...files] = process.argv.slice(2);
const commands = { faults, compare, memory };
if (!commands[command] || files.length === 0) {
  console.error('usage: node load-tests/tools/report.js faults|compare|memory FILE.jsonl...');
  process.exit(2);
}
console.log(commands[command](files));
