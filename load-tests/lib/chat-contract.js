// The part of SseChat's HTTP/SSE contract the k6 scripts rely on, in one place and free of k6 imports, so the
// test suite (SseChat.Web.Tests/LoadTests) can run these very functions under node against the real app.
// The .NET load driver (load-tests/SseChat.LoadDriver) uses the same text format (LoadText.cs).

export const PATHS = Object.freeze({ page: '/', events: '/events', messages: '/messages' });

export const FIELDS = Object.freeze({ text: 'text', cmid: 'cmid', token: '__RequestVerificationToken' });

export const ANTIFORGERY_COOKIE = 'ssechat-af';

export const KINDS = Object.freeze({ message: 'message', joined: 'user-joined', left: 'user-left' });

// The chat's limit on a message text (characters).
export const MAX_TEXT = 2000;

// "http://a:1, http://b:2/" -> ["http://a:1", "http://b:2"]
export function parseUrls(value) {
  const urls = String(value || '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter((u) => u.length > 0);
  if (urls.length === 0) {
    throw new Error('SSECHAT_URLS is empty: give a comma-separated list of instance base URLs');
  }
  for (const u of urls) {
    if (!/^https?:\/\/[^/\s]+$/.test(u)) {
      throw new Error(`not a base URL: ${u}`);
    }
  }
  return urls;
}

// The antiforgery token and client message id of the page's message form (<form id="send">). The page has a
// second form (the nickname) with its own token, so only the send form is searched.
export function sendForm(html) {
  const form = /<form[^>]*\bid="send"[^>]*>([\s\S]*?)<\/form>/.exec(String(html));
  if (!form) {
    return null;
  }
  return { token: inputValue(form[0], FIELDS.token), cmid: inputValue(form[0], FIELDS.cmid) };
}

function inputValue(formHtml, name) {
  const inputs = formHtml.match(/<input[^>]*>/g) || [];
  for (const input of inputs) {
    if (input.indexOf(`name="${name}"`) >= 0) {
      const value = /\bvalue="([^"]*)"/.exec(input);
      return value ? decodeEntities(value[1]) : null;
    }
  }
  return null;
}

function decodeEntities(s) {
  return s
    .replace(/&#x([0-9a-fA-F]+);/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
    .replace(/&#([0-9]+);/g, (_, d) => String.fromCharCode(parseInt(d, 10)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

// A unique client message id for a load message (the chat dedupes repeated ids): [A-Za-z0-9_-]{1,64}.
export function loadCmid(run, seq) {
  return `lt-${run}-${seq}`;
}

// The text of a load message: "lt:<run>-<seq>:<sent epoch ms>", padded with " xxx…" to payloadBytes. Letters,
// digits, '-' and ':' pass the chat's HTML encoder unchanged, so readers find the marker verbatim in the fragment.
export function loadText(run, seq, sentMs, payloadBytes) {
  const text = `lt:${run}-${seq}:${sentMs}`;
  const size = Math.min(Number(payloadBytes) || 0, MAX_TEXT);
  return size > text.length + 1 ? `${text} ${'x'.repeat(size - text.length - 1)}` : text;
}

const LOAD_TEXT = /lt:([A-Za-z0-9]+)-([0-9]+):([0-9]+)/;

// Finds the load marker in an event's data (the HTML fragment): { run, seq, sentMs } or null.
export function parseLoadText(data) {
  const m = LOAD_TEXT.exec(String(data));
  return m ? { run: m[1], seq: parseInt(m[2], 10), sentMs: parseInt(m[3], 10) } : null;
}

// The data-kind of a fragment's root element ("message", "user-joined", "user-left"), or null.
export function fragmentKind(data) {
  const m = /^\s*<[a-zA-Z][^>]*\bdata-kind="([a-z-]+)"/.exec(String(data));
  return m ? m[1] : null;
}

// Chat content travels as unnamed SSE events; xk6-sse reports those with an empty name, browsers as "message".
// Named events (ping, reset) are control only.
export function isContentEvent(name) {
  return name === undefined || name === null || name === '' || name === 'message';
}

// A random run id: 8 lowercase letters and digits.
export function newRunId() {
  let id = '';
  while (id.length < 8) {
    id += Math.random().toString(36).slice(2);
  }
  return id.slice(0, 8);
}
