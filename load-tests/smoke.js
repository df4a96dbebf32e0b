// Smoke test with plain k6/http: every instance serves the page, a form from one instance posts to every
// instance, a repeated client message id is accepted (and stored once), and bad posts get their status codes.
//
//   SSECHAT_URLS=http://127.0.0.1:5001,http://127.0.0.1:5002 k6 run load-tests/smoke.js
import http from 'k6/http';
import { check, fail, group } from 'k6';
import { PATHS, FIELDS, ANTIFORGERY_COOKIE, loadCmid, loadText, newRunId, parseUrls, sendForm } from './lib/chat-contract.js';

const URLS = parseUrls(__ENV.SSECHAT_URLS || 'http://127.0.0.1:5152');

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: {
    checks: ['rate==1'],
  },
};

// The bad posts below expect their 4xx; only other statuses count as failed requests.
http.setResponseCallback(http.expectedStatuses(200, 400, 413));

const HTMX = { headers: { 'HX-Request': 'true' } };

function fetchForm(base) {
  const page = http.get(base + PATHS.page, { tags: { name: 'GET /' } });
  check(page, {
    'page 200': (r) => r.status === 200,
    'page sets the antiforgery cookie': (r) => r.cookies[ANTIFORGERY_COOKIE] !== undefined,
  });
  const form = sendForm(page.body);
  if (!check(form, {
    'page has the message form with a token': (f) => f !== null && !!f.token,
    'page has the message form with a cmid': (f) => f !== null && /^[A-Za-z0-9_-]{1,64}$/.test(f.cmid || ''),
  })) {
    fail(`no usable message form on ${base}`);
  }
  return form;
}

function post(base, fields, name) {
  return http.post(base + PATHS.messages, fields, Object.assign({ tags: { name: name || 'POST /messages' } }, HTMX));
}

export default function () {
  const run = newRunId();
  const form = fetchForm(URLS[0]);

  group('a form from the first instance posts to every instance', () => {
    URLS.forEach((base, i) => {
      const res = post(base, {
        [FIELDS.text]: loadText(run, i, Date.now(), 0),
        [FIELDS.cmid]: loadCmid(run, i),
        [FIELDS.token]: form.token,
      });
      check(res, { 'post 200': (r) => r.status === 200, 'post answers a fresh form': (r) => sendForm(r.body) !== null });
    });
  });

  group('the page\'s own cmid, posted twice, is accepted twice (stored once)', () => {
    const fields = { [FIELDS.text]: `smoke ${run} double click`, [FIELDS.cmid]: form.cmid, [FIELDS.token]: form.token };
    check(post(URLS[0], fields), { 'first 200': (r) => r.status === 200 });
    check(post(URLS[URLS.length - 1], fields), { 'repeat 200': (r) => r.status === 200 });
  });

  group('bad posts', () => {
    const empty = post(URLS[0], { [FIELDS.text]: '   ', [FIELDS.cmid]: loadCmid(run, 'e'), [FIELDS.token]: form.token }, 'POST /messages (empty)');
    check(empty, { 'empty text 400': (r) => r.status === 400 });

    const forged = post(URLS[0], { [FIELDS.text]: 'no token', [FIELDS.cmid]: loadCmid(run, 'f'), [FIELDS.token]: 'forged' }, 'POST /messages (bad token)');
    check(forged, { 'bad token 400': (r) => r.status === 400 });

    const tooBig = post(URLS[0], { [FIELDS.text]: 'x'.repeat(40 * 1024), [FIELDS.cmid]: loadCmid(run, 'b'), [FIELDS.token]: form.token }, 'POST /messages (too large)');
    check(tooBig, { 'oversized body 413': (r) => r.status === 413 });
  });
}
