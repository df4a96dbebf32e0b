// Load test of the chat as it is used: subscribers hold SSE streams spread over the instances, publishers post
// at a constant rate round-robin across the instances. Every message text carries a unique id and its send time
// ("lt:<run>-<seq>:<epoch ms>"); every subscriber checks it received each message exactly once and records the
// delivery latency. Needs the xk6-sse extension (k6 >= 1.2 resolves `k6/x/sse` by itself).
//
//   SSECHAT_URLS=http://127.0.0.1:5001,http://127.0.0.1:5002,http://127.0.0.1:5003 \
//   SUBSCRIBERS=300 RATE=100 PUBLISH_SECONDS=60 k6 run load-tests/chat.js
//
// Environment (defaults in brackets): SSECHAT_URLS, SUBSCRIBERS [100], RATE msg/s all publishers together [20],
// PUBLISH_SECONDS [30], CONNECT_SECONDS the subscribers get to connect before publishing starts [10],
// DRAIN_SECONDS wait for late deliveries [10], PAYLOAD_BYTES text size [marker only], P95_MS [100], P99_MS [250],
// MAX_ERROR_RATE of the POSTs [0].
import http from 'k6/http';
import sse from 'k6/x/sse';
import exec from 'k6/execution';
import { check, fail } from 'k6';
import { Counter, Trend } from 'k6/metrics';
import {
  PATHS, FIELDS, KINDS, fragmentKind, isContentEvent, loadCmid, loadText, newRunId, parseLoadText, parseUrls, sendForm,
} from './lib/chat-contract.js';

function numberEnv(name, fallback) {
  const raw = __ENV[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a non-negative number, not "${raw}"`);
  }
  return value;
}

const URLS = parseUrls(__ENV.SSECHAT_URLS || 'http://127.0.0.1:5152');
const SUBSCRIBERS = numberEnv('SUBSCRIBERS', 100);
const RATE = numberEnv('RATE', 20);
const PUBLISH_SECONDS = numberEnv('PUBLISH_SECONDS', 30);
const CONNECT_SECONDS = numberEnv('CONNECT_SECONDS', 10);
const DRAIN_SECONDS = numberEnv('DRAIN_SECONDS', 10);
const PAYLOAD_BYTES = numberEnv('PAYLOAD_BYTES', 0);
const P95_MS = numberEnv('P95_MS', 100);
const P99_MS = numberEnv('P99_MS', 250);
const MAX_ERROR_RATE = numberEnv('MAX_ERROR_RATE', 0);

// constant-arrival-rate numbers its iterations 0..EXPECTED-1 across all publisher VUs: the message ids.
const EXPECTED = Math.round(RATE * PUBLISH_SECONDS);
const SUBSCRIBE_SECONDS = CONNECT_SECONDS + PUBLISH_SECONDS + DRAIN_SECONDS;

export const options = {
  setupTimeout: '30s',
  scenarios: {
    subscribers: {
      executor: 'per-vu-iterations',
      exec: 'subscribe',
      vus: SUBSCRIBERS,
      iterations: 1,
      // A stream closes at its first event after the deadline; heartbeats (every 15 s) bound how late that is.
      maxDuration: `${SUBSCRIBE_SECONDS + 30}s`,
      gracefulStop: '20s',
    },
    publishers: {
      executor: 'constant-arrival-rate',
      exec: 'publish',
      startTime: `${CONNECT_SECONDS}s`,
      rate: RATE,
      timeUnit: '1s',
      duration: `${PUBLISH_SECONDS}s`,
      preAllocatedVUs: Math.max(5, Math.ceil(RATE / 20)),
      maxVUs: Math.max(50, Math.ceil(RATE)),
    },
  },
  thresholds: {
    chat_delivery_latency: [`p(95)<${P95_MS}`, `p(99)<${P99_MS}`],
    chat_lost: ['count==0'],
    chat_duplicates: ['count==0'],
    chat_stream_errors: ['count==0'],
    // Every subscriber reported its tally, and every scheduled message was sent and accepted.
    chat_subscribers_done: [`count==${SUBSCRIBERS}`],
    chat_messages_sent: [`count==${EXPECTED}`],
    dropped_iterations: ['count==0'],
    'http_req_failed{scenario:publishers}': [`rate<=${MAX_ERROR_RATE}`],
  },
};

const latency = new Trend('chat_delivery_latency', true);
const deliveries = new Counter('chat_deliveries');
const duplicates = new Counter('chat_duplicates');
const lost = new Counter('chat_lost');
const unexpected = new Counter('chat_unexpected');
const streamErrors = new Counter('chat_stream_errors');
const subscribersDone = new Counter('chat_subscribers_done');
const sent = new Counter('chat_messages_sent');

// Runs once for the whole test: the run id every VU shares (init code runs once per VU), and the clock marks.
export function setup() {
  for (const base of URLS) {
    const page = http.get(base + PATHS.page, { tags: { name: 'GET /' } });
    if (page.status !== 200 || sendForm(page.body) === null) {
      fail(`${base} does not serve the chat page (status ${page.status})`);
    }
  }
  const startMs = Date.now();
  return {
    run: newRunId(),
    publishEndMs: startMs + (CONNECT_SECONDS + PUBLISH_SECONDS) * 1000,
    deadlineMs: startMs + SUBSCRIBE_SECONDS * 1000,
  };
}

export function subscribe(data) {
  const index = exec.scenario.iterationInTest;
  const url = URLS[index % URLS.length] + PATHS.events;
  const seen = new Uint8Array(EXPECTED);
  let unique = 0;

  const response = sse.open(url, { method: 'GET', tags: { name: 'GET /events' } }, (client) => {
    client.on('event', (event) => {
      if (isContentEvent(event.name) && fragmentKind(event.data) === KINDS.message) {
        const lt = parseLoadText(event.data);
        if (lt !== null && lt.run === data.run) {
          if (lt.seq >= EXPECTED) {
            unexpected.add(1);
          } else if (seen[lt.seq] === 1) {
            duplicates.add(1);
          } else {
            seen[lt.seq] = 1;
            unique += 1;
            deliveries.add(1);
            latency.add(Date.now() - lt.sentMs);
          }
        }
      }
      const now = Date.now();
      if (now >= data.deadlineMs || (unique === EXPECTED && now >= data.publishEndMs)) {
        client.close();
      }
    });
    client.on('error', (e) => {
      streamErrors.add(1);
      console.warn(`stream ${index} on ${url}: ${e && e.error ? e.error() : e}`);
    });
  });

  check(response, { 'events 200': (r) => r && r.status === 200 });
  lost.add(EXPECTED - unique);
  subscribersDone.add(1);
}

// Per publisher VU: the message form of each instance (the VU's cookie jar holds the matching cookie).
const forms = {};

export function publish(data) {
  const seq = exec.scenario.iterationInTest;
  const base = URLS[seq % URLS.length];
  let form = forms[base];
  if (form === undefined) {
    const page = http.get(base + PATHS.page, { tags: { name: 'GET /' } });
    form = sendForm(page.body);
    if (form === null || !form.token) {
      fail(`no message form on ${base} (status ${page.status})`);
    }
    forms[base] = form;
  }

  const response = http.post(
    base + PATHS.messages,
    {
      [FIELDS.text]: loadText(data.run, seq, Date.now(), PAYLOAD_BYTES),
      [FIELDS.cmid]: loadCmid(data.run, seq),
      [FIELDS.token]: form.token,
    },
    { headers: { 'HX-Request': 'true' }, tags: { name: 'POST /messages' } },
  );
  if (check(response, { 'post 200': (r) => r.status === 200 })) {
    sent.add(1);
  }
}
