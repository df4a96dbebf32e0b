#!/usr/bin/env node
// SVG charts for BENCHMARKS.md from load-driver JSON lines: SseChat's own driver (run-local.sh --json-out, compare.sh)
// and the peers' driver (../shared/peers: run.sh, side-by-side.sh), read into one shape. No dependencies.
//
//   node load-tests/tools/charts.js OUT_DIR FILE.jsonl...
//
// Writes, for the runs it finds (medians per system and shape, the range drawn as a whisker):
//   p99-by-shape.svg        delivery latency p99 per shape (clients x msg/s), one bar per system
//   cpu-by-shape.svg        server CPU per delivery (instances + Redis) per shape
//   memory-per-stream.svg   resident memory per open stream, idle runs (rate 0), per system and stream count
//   ladder.svg              p99 against the offered rate, one line per system (runs marked "ladder" or with --label
//                           NAME:ladder); ladder-deliveries.svg and ladder-refused.svg: deliveries/s and refused posts/s
// Idle-memory runs are those with rate 0, "idle": true, or a label NAME:idle.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

/** One run in one shape, whichever driver wrote it. */
function normalise(j) {
  if (j.latency_ms || j.mode) {
    // the peers' driver.js (run.sh adds peer/variant)
    return {
      // several driver processes (peers-driver/, DRIVERS=N) make a line of their own, except on the ladder, whose top
      // rungs need more driver processes than its first (the caption says how many)
      system: (j.variant || j.peer || j.mode) + (j.drivers > 1 && j.ladder !== true ? `, ${j.drivers} drivers` : ''),
      clients: j.clients,
      rate: j.rate,
      p99: j.latency_ms ? j.latency_ms.p99 : null,
      cpu: j.server_cpu_us_per_delivery == null ? null : j.server_cpu_us_per_delivery + (j.redis_cpu_us_per_delivery || 0),
      kibPerStream: j.server_kib_per_conn ?? null,
      deliveries: j.deliveries_per_s ?? null,
      // the driver counts failed posts over its warm-up and its measured window alike
      refusedPerSecond: j.send_errors != null && j.seconds ? j.send_errors / (j.seconds + (j.warmup_s || 0)) : null,
      lost: j.lost ?? 0,
      ladder: j.probe === 'maxrate' || j.ladder === true,
      idle: j.idle === true,
    };
  }
  // SseChat's load driver (LoadReport)
  const label = j.label || 'ssechat';
  const instances = (j.processes || []).length - 1; // run-local.sh lists redis-server last
  return {
    system: label.split(':')[0],
    clients: j.clients,
    rate: j.targetRate,
    p99: j.latencyP99Ms ?? null,
    cpu: j.serverCpuUsPerDelivery ?? null,
    kibPerStream: j.rssPerStreamKiB != null && instances > 0 ? j.rssPerStreamKiB : null,
    deliveries: j.deliveriesPerSecond ?? null,
    refusedPerSecond: j.postsFailed != null && j.seconds ? j.postsFailed / j.seconds : null,
    lost: j.lost ?? 0,
    ladder: label.includes(':ladder'),
    idle: label.includes(':idle'),
  };
}

function readRuns(files) {
  const runs = [];
  for (const file of files) {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
      if (line.trim().startsWith('{')) {
        const j = JSON.parse(line);
        if (!j.error) runs.push(normalise(j));
      }
    }
  }
  return runs;
}

function stats(values) {
  const v = values.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  const mid = Math.floor(v.length / 2);
  return { median: v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2, min: v[0], max: v[v.length - 1], n: v.length };
}

const COLOURS = ['#1f6feb', '#d1242f', '#8250df', '#1a7f37', '#bf8700', '#57606a'];
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (x) => (x >= 100 ? Math.round(x).toLocaleString('en-US') : x >= 10 ? x.toFixed(1) : x.toFixed(2));
/** Evenly spaced round ticks from 0 to at least max. */
const niceTicks = (max) => { const step = 10 ** Math.floor(Math.log10(max / 4)); const m = [1, 2, 2.5, 5, 10].find((k) => max / (k * step) <= 5) * step; return Array.from({ length: Math.floor(max / m) + 1 }, (_, i) => i * m); };

/** One coloured box and name per series, in a row, each as wide as its name. */
function legend(names, x, y) {
  let svg = '';
  names.forEach((name, i) => {
    svg += `<rect x="${x}" y="${y}" width="12" height="12" fill="${COLOURS[i % COLOURS.length]}"/><text x="${x + 16}" y="${y + 10}">${esc(name)}</text>`;
    x += 30 + 7 * String(name).length;
  });
  return svg;
}

/** A grouped bar chart: groups along x, one bar per series in each, medians with min–max whiskers. */
function barChart({ title, unit, groups, series, value, log = false }) {
  const W = 760, H = 360, left = 70, right = 20, top = 40, bottom = 70;
  const cells = groups.map((g) => series.map((s) => value(g, s)));
  const all = cells.flat().filter(Boolean).flatMap((c) => [c.max, c.min]);
  if (!all.length) return null;
  // A linear axis spans the medians (and 1.5x the largest): a collapsed run's whisker is cut at the top, not the scale.
  const medians = cells.flat().filter(Boolean).map((c) => c.median);
  const maxV = log ? Math.max(...all) * 1.1 : Math.min(Math.max(...all), Math.max(...medians) * 1.5) * 1.1;
  const minV = log ? Math.max(Math.min(...all) / 2, 1e-3) : 0;
  const y = (v) => top + (H - top - bottom) * (1 - (log ? Math.log(v / minV) / Math.log(maxV / minV) : v / maxV));
  const gw = (W - left - right) / groups.length;
  const widest = Math.max(...cells.map((row) => row.filter(Boolean).length));
  const bw = Math.min(40, (gw - 20) / widest);
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`;
  svg += `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  svg += `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#333"/><line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#333"/>`;
  const ticks = log ? [1, 10, 100, 1000, 10000, 100000].filter((t) => t >= minV && t <= maxV) : niceTicks(maxV);
  for (const t of ticks) {
    svg += `<line x1="${left - 4}" y1="${y(t)}" x2="${W - right}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  }
  svg += `<text x="16" y="${(top + H - bottom) / 2}" transform="rotate(-90 16 ${(top + H - bottom) / 2})" text-anchor="middle">${esc(unit)}</text>`;
  groups.forEach((g, gi) => {
    const present = series.map((s, si) => si).filter((si) => cells[gi][si]);
    const x0 = left + gi * gw + (gw - bw * present.length) / 2;
    present.forEach((si, slot) => {
      const c = cells[gi][si];
      const x = x0 + slot * bw;
      svg += `<rect x="${x + 2}" y="${y(c.median)}" width="${bw - 4}" height="${H - bottom - y(c.median)}" fill="${COLOURS[si % COLOURS.length]}"/>`;
      if (c.max > c.min) {
        const cx = x + bw / 2;
        svg += `<line x1="${cx}" y1="${y(Math.min(c.max, maxV))}" x2="${cx}" y2="${y(c.min)}" stroke="#111"/>`;
      }
      svg += `<text x="${x + bw / 2}" y="${y(c.median) - 4}" text-anchor="middle" font-size="10">${fmt(c.median)}</text>`;
    });
    svg += `<text x="${left + gi * gw + gw / 2}" y="${H - bottom + 16}" text-anchor="middle">${esc(g)}</text>`;
  });
  svg += legend(series, left, H - 28);
  return svg + '</svg>\n';
}

/** A line chart of one measure (p99 by default, log y) against the offered rate, one line per system. */
function ladderChart(runs, { field = 'p99', title = 'Delivery p99 against the offered rate, 300 clients on 3 instances', unit = 'p99 (ms, log)', log = true } = {}) {
  const systems = [...new Set(runs.map((r) => r.system))];
  const points = systems.map((s) => {
    const rates = [...new Set(runs.filter((r) => r.system === s).map((r) => r.rate))].sort((a, b) => a - b);
    return rates.map((rate) => ({ rate, p99: stats(runs.filter((r) => r.system === s && r.rate === rate).map((r) => r[field])) })).filter((p) => p.p99);
  });
  const flat = points.flat();
  if (!flat.length) return null;
  const W = 760, H = 360, left = 70, right = 20, top = 40, bottom = 70;
  const maxR = Math.max(...flat.map((p) => p.rate)) * 1.05;
  const minP = log ? Math.max(Math.min(...flat.map((p) => p.p99.median)) / 2, 1) : 0;
  const maxP = Math.max(...flat.map((p) => p.p99.median)) * (log ? 2 : 1.1) || 1;
  const x = (r) => left + (W - left - right) * (r / maxR);
  const y = (v) => top + (H - top - bottom) * (1 - (log ? Math.log(Math.max(v, minP) / minP) / Math.log(maxP / minP) : v / maxP));
  let svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`;
  svg += `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`;
  svg += `<line x1="${left}" y1="${top}" x2="${left}" y2="${H - bottom}" stroke="#333"/><line x1="${left}" y1="${H - bottom}" x2="${W - right}" y2="${H - bottom}" stroke="#333"/>`;
  const ticks = log ? [1, 10, 100, 1000, 10000, 100000].filter((t) => t >= minP && t <= maxP) : niceTicks(maxP);
  for (const t of ticks) {
    svg += `<line x1="${left - 4}" y1="${y(t)}" x2="${W - right}" y2="${y(t)}" stroke="#ddd"/><text x="${left - 6}" y="${y(t) + 4}" text-anchor="end">${fmt(t)}</text>`;
  }
  for (let r = 0; r <= maxR; r += maxR > 2000 ? 500 : 200) {
    svg += `<text x="${x(r)}" y="${H - bottom + 16}" text-anchor="middle">${r}</text>`;
  }
  svg += `<text x="${(left + W - right) / 2}" y="${H - bottom + 34}" text-anchor="middle">messages per second (all instances)</text>`;
  svg += `<text x="16" y="${(top + H - bottom) / 2}" transform="rotate(-90 16 ${(top + H - bottom) / 2})" text-anchor="middle">${esc(unit)}</text>`;
  points.forEach((ps, si) => {
    const c = COLOURS[si % COLOURS.length];
    svg += `<polyline fill="none" stroke="${c}" stroke-width="2" points="${ps.map((p) => `${x(p.rate)},${y(p.p99.median)}`).join(' ')}"/>`;
    for (const p of ps) svg += `<circle cx="${x(p.rate)}" cy="${y(p.p99.median)}" r="3" fill="${c}"/>`;
  });
  svg += legend(systems, left, H - 28);
  return svg + '</svg>\n';
}

function main() {
  const [outDir, ...files] = process.argv.slice(2);
  if (!outDir || files.length === 0) {
    console.error('usage: node load-tests/tools/charts.js OUT_DIR FILE.jsonl...');
    process.exit(2);
  }
  const runs = readRuns(files);
  const loaded = runs.filter((r) => r.rate > 0 && !r.ladder && !r.idle);
  const shapes = [...new Set(loaded.map((r) => `${r.clients} × ${r.rate}`))];
  const systems = [...new Set(loaded.map((r) => r.system))];
  const cell = (field) => (g, s) => stats(loaded.filter((r) => `${r.clients} × ${r.rate}` === g && r.system === s).map((r) => r[field]));
  const idle = runs.filter((r) => (r.idle || r.rate === 0) && r.kibPerStream != null);
  const charts = {
    'p99-by-shape.svg': barChart({ title: 'Delivery latency p99 (clients × msg/s, 3 instances)', unit: 'ms (log)', groups: shapes, series: systems, value: cell('p99'), log: true }),
    'cpu-by-shape.svg': barChart({ title: 'Server CPU per delivery, instances + Redis', unit: 'µs', groups: shapes, series: systems, value: cell('cpu') }),
    'memory-per-stream.svg': barChart({
      title: 'Resident memory per idle open stream',
      unit: 'KiB',
      groups: [...new Set(idle.map((r) => `${r.clients.toLocaleString('en-US')} streams`))],
      series: [...new Set(idle.map((r) => r.system))],
      value: (g, s) => stats(idle.filter((r) => `${r.clients.toLocaleString('en-US')} streams` === g && r.system === s).map((r) => r.kibPerStream)),
    }),
    'ladder.svg': ladderChart(runs.filter((r) => r.ladder)),
    'ladder-deliveries.svg': ladderChart(runs.filter((r) => r.ladder), {
      field: 'deliveries', title: 'Deliveries per second against the offered rate, 300 clients on 3 instances', unit: 'deliveries/s', log: false,
    }),
    'ladder-refused.svg': ladderChart(runs.filter((r) => r.ladder && r.refusedPerSecond != null), {
      field: 'refusedPerSecond', title: 'Posts refused per second (503 busy or failed) against the offered rate', unit: 'refused posts/s', log: false,
    }),
  };
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, svg] of Object.entries(charts)) {
    if (svg) {
      fs.writeFileSync(path.join(outDir, name), svg);
      console.log(`${path.join(outDir, name)}`);
    }
  }
}

main();
