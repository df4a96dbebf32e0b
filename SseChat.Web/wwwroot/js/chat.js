// The chat page's small behaviours, on top of htmx and its hx-sse extension. A static file, no inline script or
// style anywhere, so the page works under a strict Content-Security-Policy (script-src 'self'; style-src 'self').
// Everything here only reads the server's markup (data-* attributes) and htmx's events; the server stays the one
// renderer of content.
(() => {
    'use strict';

    const chat = document.querySelector('.chat[data-me]');
    const list = document.getElementById('messages');
    if (!chat || !list) return;

    const me = chat.dataset.me;
    const status = document.getElementById('conn');
    const jump = document.getElementById('jump');

    // ---- own messages and own entry in the list of people, local times -------------------------------------------

    const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
    const dayFormat = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
    const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'full', timeStyle: 'medium' });

    function localTime(el) {
        if (el.dataset.local) return;
        const when = new Date(el.getAttribute('datetime'));
        if (Number.isNaN(when.getTime())) return;
        const today = new Date().toDateString() === when.toDateString();
        el.textContent = (today ? timeFormat : dayFormat).format(when);
        el.title = fullFormat.format(when);
        el.dataset.local = 'true';
    }

    function decorate(root) {
        if (!(root instanceof Element)) return;
        for (const el of [root, ...root.querySelectorAll('[data-author]')]) {
            if (el.dataset && el.dataset.author === me) el.classList.add('own');
        }
        for (const el of [root, ...root.querySelectorAll('time[datetime]')]) {
            if (el.matches('time[datetime]')) localTime(el);
        }
    }

    decorate(chat);

    // ---- keep the newest message in view, unless the reader scrolled up ------------------------------------------

    let stick = true;
    const atBottom = () => list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    const toBottom = () => { list.scrollTop = list.scrollHeight; };

    list.addEventListener('scroll', () => {
        stick = atBottom();
        if (stick) jump.hidden = true;
    }, { passive: true });
    jump.addEventListener('click', () => {
        toBottom();
        stick = true;
        jump.hidden = true;
    });
    toBottom();

    // The room list is refreshed every 30 s; this room's own count follows the list of people at once.
    function syncRoomCount(presence) {
        const own = document.querySelector('#room-list a[aria-current="page"] + .count');
        const count = presence.querySelector('h2 .count');
        if (own && count) own.textContent = count.textContent;
    }

    // Whatever htmx adds or replaces (stream fragments, out-of-band lists, a reloaded history) is decorated here.
    new MutationObserver(records => {
        let added = false;
        for (const record of records) {
            for (const node of record.addedNodes) {
                decorate(node);
                if (!(node instanceof Element)) continue;
                if (node.id === 'presence') syncRoomCount(node);
                if (record.target === list && node.matches('li')) added = true;
            }
        }
        if (!added) return;
        if (stick) toBottom(); else jump.hidden = false;
    }).observe(chat, { childList: true, subtree: true });

    // ---- connection state, from hx-sse's events ------------------------------------------------------------------

    const labels = { connecting: 'Connecting…', connected: 'Live', reconnecting: 'Reconnecting…', offline: 'Offline: reload the page' };
    function show(state) {
        if (status.dataset.state === state) return;
        status.dataset.state = state;
        status.textContent = labels[state];
    }

    list.addEventListener('htmx:sse:after:connection', () => show('connected'));
    list.addEventListener('htmx:sse:before:connection', e => {
        // Fired before the first connection too; a later one is a reconnect.
        if (e.detail && e.detail.connection && e.detail.connection.attempt > 0) show('reconnecting');
    });
    list.addEventListener('htmx:sse:error', () => show('reconnecting'));
    list.addEventListener('reconnect', () => show('reconnecting')); // the server is shutting down: hx-sse reconnects
    list.addEventListener('htmx:sse:close', e => {
        if (e.detail && e.detail.reason !== 'removed') show('offline');
    });

    // hx-sse retries a stream that broke, but not a first connection that failed (a network error, or an instance
    // answering 503 while it stops): retry that here, with the same backoff idea.
    let firstTries = 0;
    function retryFirstConnection() {
        show('reconnecting');
        const delay = Math.min(10000, 500 * 2 ** firstTries++) * (0.7 + Math.random() * 0.6);
        setTimeout(() => {
            if (list.isConnected) htmx.ajax('GET', list.getAttribute('hx-sse:connect'), { source: list });
        }, delay);
    }
    // An answer that was not an event stream (hx-sse takes those over before this event; hx-status keeps its text
    // out of the list), or no answer at all. Only a server error is worth another try.
    list.addEventListener('htmx:after:request', e => {
        if (e.target !== list) return;
        const code = e.detail && e.detail.ctx && e.detail.ctx.response ? e.detail.ctx.response.status : 0;
        if (code >= 500) retryFirstConnection(); else show('offline');
    });
    list.addEventListener('htmx:error', e => { if (e.target === list) retryFirstConnection(); });

    // ---- the message form ----------------------------------------------------------------------------------------

    // Enter sends, Shift+Enter (or Enter while an input method composes) makes a new line.
    document.addEventListener('keydown', e => {
        const area = e.target;
        if (e.key !== 'Enter' || e.shiftKey || e.isComposing || !(area instanceof HTMLTextAreaElement) || !area.closest('#send')) return;
        e.preventDefault();
        area.form.requestSubmit();
    });

    // A sent message comes back as a fresh, empty form: keep typing where you were. Whatever was typed while the send
    // was on its way (the box holds more than was sent) moves into the fresh form instead of being lost.
    let form = document.getElementById('send');
    let sent = null;
    document.addEventListener('htmx:before:request', e => {
        if (e.target instanceof Element && e.target.id === 'send') sent = e.target.querySelector('textarea')?.value ?? null;
    });
    document.addEventListener('htmx:after:swap', () => {
        const current = document.getElementById('send');
        if (current && current !== form) {
            const typed = form?.querySelector('textarea')?.value ?? '';
            const area = current.querySelector('textarea');
            if (sent !== null && typed !== sent) {
                area.value = typed.startsWith(sent) ? typed.slice(sent.length).replace(/^\s+/, '') : typed;
            }
            form = current;
            sent = null;
            area.focus();
        }
    });

    // No answer at all (the instance went away): say so; the text stays in the form, ready to send again under the
    // same client message id, so a message that did arrive is not posted twice.
    document.addEventListener('htmx:error', e => {
        const source = e.target;
        if (!(source instanceof Element) || source.id !== 'send') return;
        const slot = document.getElementById('form-error');
        if (slot) slot.textContent = 'Not confirmed: no answer from the chat. Send again; a message is never posted twice.';
    });
})();
