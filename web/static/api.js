// api.js: where the API is, the token, a fetch wrapper that understands the API's
// error shape, and a Server-Sent Events reader that can send an Authorization header
// (EventSource cannot).

const TOKEN_KEY = 'wagate.token';
const API_KEY = 'wagate.api';

/** ApiError is a failed API call: HTTP status, the API's error code and message. */
export class ApiError extends Error {
  constructor(status, code, message, retryAfter) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter; // seconds, or undefined
  }
}

/** takeFromHash reads #token=...&api=... once, stores it and removes it from the address bar. */
export function takeFromHash(loc = window.location, storage = window.localStorage, hist = window.history) {
  if (!loc.hash || loc.hash.length < 2) return false;
  const params = new URLSearchParams(loc.hash.slice(1));
  const token = params.get('token');
  const api = params.get('api');
  if (token === null && api === null) return false;
  if (token !== null) storage.setItem(TOKEN_KEY, token.trim());
  if (api !== null) storage.setItem(API_KEY, normalizeBase(api));
  hist.replaceState(null, '', loc.pathname + loc.search);
  return true;
}

/** normalizeBase trims an API base URL; an empty base means "same origin". */
export function normalizeBase(url) {
  return String(url || '').trim().replace(/\/+$/, '');
}

/** parseRetryAfter turns a Retry-After header (seconds or an HTTP date) into seconds. */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value === undefined || value === '') return undefined;
  const n = Number(value);
  if (Number.isFinite(n)) return Math.max(0, Math.ceil(n));
  const t = Date.parse(value);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}

/** Api is the client of the HTTP API v1. */
export class Api {
  constructor(storage = window.localStorage) {
    this.storage = storage;
    this.onUnauthorized = () => {};
  }

  get token() { return this.storage.getItem(TOKEN_KEY) || ''; }
  get base() { return this.storage.getItem(API_KEY) || ''; }

  /** configure stores a new token and API base URL. */
  configure(token, base) {
    this.storage.setItem(TOKEN_KEY, String(token || '').trim());
    this.storage.setItem(API_KEY, normalizeBase(base));
  }

  /** url resolves an API path against the base; absolute URLs pass through. */
  url(path) { return /^https?:\/\//.test(path) ? path : this.base + path; }

  headers(extra = {}) {
    const h = { ...extra };
    if (this.token) h.Authorization = 'Bearer ' + this.token;
    return h;
  }

  /**
   * request calls the API and returns {status, data, headers}. A non-2xx answer
   * throws ApiError with the API's message; a network failure throws ApiError with
   * status 0. A 401 also calls onUnauthorized.
   */
  async request(method, path, { body, headers = {}, signal } = {}) {
    const init = { method, headers: this.headers({ Accept: 'application/json', ...headers }), signal, cache: 'no-store' };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(this.url(path), init);
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'Cannot reach the API: check the API URL and your network.');
    }
    const data = await readJSON(res);
    if (!res.ok) throw this.failure(res, data);
    return { status: res.status, data, headers: res.headers };
  }

  /** blob fetches binary content (e.g. the QR PNG) with the auth header. */
  async blob(path, accept, { signal } = {}) {
    let res;
    try {
      res = await fetch(this.url(path), { headers: this.headers({ Accept: accept }), signal, cache: 'no-store' });
    } catch (err) {
      if (err && err.name === 'AbortError') throw err;
      throw new ApiError(0, 'network', 'Cannot reach the API: check the API URL and your network.');
    }
    if (!res.ok) throw this.failure(res, await readJSON(res));
    return res.blob();
  }

  failure(res, data) {
    const e = data && data.error ? data.error : {};
    const retryAfter = parseRetryAfter(res.headers.get('Retry-After'));
    const message = e.message || res.statusText || `HTTP ${res.status}`;
    const err = new ApiError(res.status, e.code || `http_${res.status}`, message, retryAfter);
    if (res.status === 401) this.onUnauthorized(err);
    return err;
  }
}

async function readJSON(res) {
  if (res.status === 204) return null;
  const text = await res.text().catch(() => '');
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * SseParser turns a text stream into Server-Sent Events ({event, data, id}), following
 * the EventSource rules: "field: value" lines, events separated by a blank line,
 * lines starting with ":" are comments, several data lines are joined with "\n".
 */
export class SseParser {
  constructor(onEvent) {
    this.onEvent = onEvent;
    this.buf = '';
    this.data = [];
    this.event = '';
    this.lastId = '';
    this.retry = undefined;
  }

  push(chunk) {
    this.buf += chunk;
    const re = /\r\n|\r|\n/g;
    let start = 0;
    let m;
    while ((m = re.exec(this.buf)) !== null) {
      // A "\r" at the very end may be the first half of "\r\n": wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      this.line(this.buf.slice(start, m.index));
      start = re.lastIndex;
    }
    this.buf = this.buf.slice(start);
  }

  line(line) {
    if (line === '') { this.dispatch(); return; }
    if (line[0] === ':') return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value[0] === ' ') value = value.slice(1);
    switch (field) {
      case 'data': this.data.push(value); break;
      case 'event': this.event = value; break;
      case 'id': if (!value.includes('\0')) this.lastId = value; break;
      case 'retry': if (/^\d+$/.test(value)) this.retry = Number(value); break;
      default: break;
    }
  }

  dispatch() {
    const data = this.data;
    const event = this.event || 'message';
    this.data = [];
    this.event = '';
    if (data.length === 0) return;
    this.onEvent({ event, data: data.join('\n'), id: this.lastId });
  }
}

/** BACKOFF is the reconnect schedule of the event stream, in seconds. */
export const BACKOFF = [1, 2, 5, 15];

/**
 * EventStream reads GET /v1/events with fetch and reports each parsed API Event to
 * onEvent and its state ("live", "reconnecting", "unavailable", "stopped") to onState.
 * It reconnects with BACKOFF until stop() is called or the token is rejected.
 */
export class EventStream {
  constructor(api, { onEvent, onState }) {
    this.api = api;
    this.onEvent = onEvent;
    this.onState = onState;
    this.ctrl = null;
    this.running = false;
    this.lastId = '';
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.ctrl = new AbortController();
    this.loop(this.ctrl.signal);
  }

  stop() {
    this.running = false;
    if (this.ctrl) this.ctrl.abort();
    this.ctrl = null;
    this.onState('stopped');
  }

  async loop(signal) {
    let attempt = 0;
    while (this.running && !signal.aborted) {
      let delivered = false;
      let openedAt = 0;
      try {
        const headers = this.api.headers({ Accept: 'text/event-stream' });
        if (this.lastId) headers['Last-Event-ID'] = this.lastId;
        const res = await fetch(this.api.url('/v1/events'), { headers, signal, cache: 'no-store' });
        if (res.status === 401) {
          this.running = false;
          this.api.failure(res, null);
          this.onState('stopped');
          return;
        }
        if (res.status === 404 || res.status === 405 || res.status === 501) {
          // The AWS deployment has no event stream: the page falls back to polling.
          this.running = false;
          this.onState('unavailable');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`events: HTTP ${res.status}`);
        this.onState('live');
        openedAt = Date.now();
        const parser = new SseParser((ev) => {
          delivered = true;
          if (ev.id) this.lastId = ev.id;
          let parsed;
          try { parsed = JSON.parse(ev.data); } catch { return; }
          if (parsed && typeof parsed === 'object') {
            if (!parsed.type && ev.event !== 'message') parsed.type = ev.event;
            this.onEvent(parsed);
          }
        });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          parser.push(value);
        }
      } catch (err) {
        if (signal.aborted) return;
      }
      if (!this.running || signal.aborted) return;
      // A stream that delivered events or stayed open a while was healthy: start the
      // schedule over.
      if (delivered || (openedAt && Date.now() - openedAt > 30000)) attempt = 0;
      const delay = BACKOFF[Math.min(attempt, BACKOFF.length - 1)];
      attempt++;
      this.onState('reconnecting', delay);
      await sleep(delay * 1000, signal);
    }
  }
}

/** sleep waits ms milliseconds or until signal aborts. */
export function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    if (signal) signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** newIdempotencyKey returns a random UUID, also outside secure contexts. */
export function newIdempotencyKey() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
