// The JSON lines of several driver processes of one run (run.sh DRIVERS=N) as one line. Each driver checks its own
// messages at its own clients (1/N of all deliveries: "delivered", "expected", "lost" are that sample, summed); every
// client receives all N drivers' messages, so the deliveries made are N times those counted, and deliveries/s and CPU
// per delivery are over those. Latency percentiles: the highest of the drivers'. The servers' and Redis' CPU: each
// driver samples the same processes over about the same window, so their mean. "driver_limited": any driver says it
// was the limit (its warm-up did not drain, its event loop ran late: driver_limits says which and how), or the
// drivers' measured windows began more than a second apart (one began behind the others).
'use strict';
const fs = require('fs');
const runs = process.argv.slice(2).map((f) => JSON.parse(fs.readFileSync(f, 'utf8').trim().split('\n').pop()));
const failed = runs.find((r) => r.error);
if (failed) { process.stdout.write(JSON.stringify(failed) + '\n'); process.exit(1); }
const sum = (f) => runs.reduce((a, r) => a + (f(r) || 0), 0);
const max = (f) => Math.max(...runs.map(f));
const mean = (f) => sum(f) / runs.length;
const r3 = (x) => Math.round(x * 1000) / 1000;
const delivered = sum((r) => r.delivered);
const made = runs.length * delivered; // deliveries made, counted or not
const out = { ...runs[0] };
for (const k of ['clients', 'rate', 'messages', 'expected', 'delivered', 'lost', 'duplicates', 'unexpected', 'send_errors', 'post_retries', 'disconnects', 'reconnects', 'reconnect_errors', 'resets', 'send_rate_achieved']) out[k] = r3(sum((r) => r[k]));
out.rate = Math.round(out.rate * 10) / 10; // a rate split N ways (run.sh prints each share to 6 digits) sums back
out.deliveries_per_s = r3(runs.length * sum((r) => r.deliveries_per_s));
out.sampled_fraction = r3(1 / runs.length);
out.loss_pct = r3(out.lost / out.expected * 100);
out.latency_ms = { p50: max((r) => r.latency_ms.p50), p95: max((r) => r.latency_ms.p95), p99: max((r) => r.latency_ms.p99), max: max((r) => r.latency_ms.max), mean: r3(sum((r) => r.latency_ms.mean * r.delivered) / delivered) };
out.send_lag_ms = { p99: max((r) => r.send_lag_ms.p99), max: max((r) => r.send_lag_ms.max) };
out.drain_s = max((r) => r.drain_s);
out.driver = { cpu_pct: r3(sum((r) => r.driver.cpu_pct)), cpu_us_per_delivery: r3(sum((r) => r.driver.cpu_us_per_delivery * r.delivered) / made), event_loop_delay_ms: { p99: max((r) => r.driver.event_loop_delay_ms.p99), max: max((r) => r.driver.event_loop_delay_ms.max) }, rss_kib: sum((r) => r.driver.rss_kib) };
out.machine_cpu_busy_pct = r3(mean((r) => r.machine_cpu_busy_pct));
out.machine_busy_cores = r3(mean((r) => r.machine_busy_cores));
for (const k of ['server_cpu_us_per_delivery', 'server_cpu_us_per_delivery_net', 'redis_cpu_us_per_delivery']) if (k in out) out[k] = r3(mean((r) => r[k] * r.delivered) / made);
for (const k of ['server_cpu_pct', 'redis_cpu_pct']) if (k in out) out[k] = r3(mean((r) => r[k]));
// busy cores not charged to the drivers, the servers or Redis
out.other_busy_cores = r3(out.machine_busy_cores - (out.driver.cpu_pct + (out.server_cpu_pct || 0) + (out.redis_cpu_pct || 0)) / 100);
out.per_driver = runs.map((r) => ({ clients: r.clients, rate: r.rate, delivered: r.delivered, lost: r.lost, p99: r.latency_ms.p99, send_rate_achieved: r.send_rate_achieved, cpu_pct: r.driver.cpu_pct, event_loop_delay_p99: r.driver.event_loop_delay_ms.p99, warmup_delivered: r.warmup_delivered, warmup_expected: r.warmup_expected, window_start_ms: r.window_start_ms, start_barrier_wait_s: r.start_barrier_wait_s }));
out.driver_limits = runs.flatMap((r, i) => (r.driver_limits || []).map((l) => `driver ${i}: ${l}`));
const starts = runs.map((r) => r.window_start_ms).filter((t) => t != null);
const spread = starts.length ? (Math.max(...starts) - Math.min(...starts)) / 1000 : 0;
if (spread > 1) out.driver_limits.push(`measured windows began ${r3(spread)} s apart`);
out.driver_limited = out.driver_limits.length > 0;
delete out.window_start_ms;
delete out.start_barrier_wait_s;
// written only by newer drivers: an older line keeps none of them rather than a sum of zeros
for (const k of ['warmup_expected', 'warmup_delivered', 'failed_msgs', 'lost_of_acknowledged']) if (k in out) out[k] = sum((r) => r[k]);
process.stdout.write(JSON.stringify(out) + '\n');
