// inbox.js: a session's messages (newest first, paged with "Load more", live updates)
// and its send form.

import { ApiError, newIdempotencyKey } from './api.js';
import { TICKS, formatPeer, formatTime } from './format.js';
import { h, setText } from './dom.js';

const PAGE = 50;

const RANK = { queued: 1, sent: 2, delivered: 3, read: 4, failed: 5 };

/**
 * mergeMessage applies newer data to a message without moving its status back: a
 * late "queued" answer never undoes a "delivered" that arrived first over events.
 */
export function mergeMessage(old, next) {
  const merged = { ...old, ...next };
  const a = RANK[old.status] || 0;
  const b = RANK[next.status] || 0;
  if (b < a || (old.status === 'failed' && next.status !== 'failed')) {
    merged.status = old.status;
    merged.error = old.error;
  }
  return merged;
}

/** Inbox lists a session's messages and keeps them current from events. */
export class Inbox {
  constructor(api, sessionId, { onError }) {
    this.api = api;
    this.id = sessionId;
    this.onError = onError;
    this.items = new Map(); // message id → {msg, el}
    this.cursor = '';
    this.loading = false;
    this.build();
  }

  path(q) { return `/v1/sessions/${encodeURIComponent(this.id)}/messages${q}`; }

  build() {
    const hid = 'inbox-' + this.id + '-h';
    this.list = h('ol', { class: 'messages' });
    this.empty = h('p', { class: 'muted empty' }, 'No messages yet.');
    this.note = h('p', { class: 'muted small', 'aria-live': 'polite' });
    this.more = h('button', { type: 'button', class: 'secondary', hidden: true, onclick: () => this.load(true) }, 'Load more');
    this.reload = h('button', { type: 'button', class: 'link', onclick: () => this.load(false) }, 'Reload messages');
    this.el = h('section', { class: 'inbox', 'aria-labelledby': hid },
      h('div', { class: 'section-head' }, h('h4', { id: hid }, 'Inbox'), this.reload),
      this.empty, this.list, this.note, this.more);
  }

  /** load fetches the newest page (more=false) or the next page (more=true). */
  async load(more = false) {
    if (this.loading) return;
    this.loading = true;
    this.more.disabled = true;
    setText(this.note, more ? 'Loading…' : '');
    try {
      let q = `?limit=${PAGE}`;
      if (more && this.cursor) q += '&cursor=' + encodeURIComponent(this.cursor);
      const { data } = await this.api.request('GET', this.path(q));
      const msgs = (data && Array.isArray(data.messages)) ? data.messages : [];
      if (!more) {
        this.items.clear();
        this.list.replaceChildren();
      }
      for (const m of msgs) this.upsert(m, 'end');
      this.cursor = (data && data.nextCursor) || '';
      setText(this.note, '');
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      setText(this.note, 'Could not load messages: ' + err.message);
    } finally {
      this.loading = false;
      this.more.disabled = false;
      this.more.hidden = !this.cursor;
      this.empty.hidden = this.items.size > 0;
    }
  }

  /**
   * refresh merges the newest page into the list without dropping older pages: the
   * fallback when no event stream delivers changes.
   */
  async refresh() {
    if (this.loading) return;
    try {
      const { data } = await this.api.request('GET', this.path(`?limit=${PAGE}`));
      const msgs = (data && Array.isArray(data.messages)) ? data.messages : [];
      if (this.items.size === 0 && data) this.cursor = data.nextCursor || '';
      for (const m of [...msgs].reverse()) this.upsert(m, 'start');
      this.more.hidden = !this.cursor;
      this.empty.hidden = this.items.size > 0;
    } catch {
      // The next refresh or a reload tries again; the list stays as it is.
    }
  }

  /** add shows a new message at the top (message.in events, a message just sent). */
  add(msg) {
    this.upsert(msg, 'start');
    this.empty.hidden = this.items.size > 0;
  }

  /** status applies a message.status event: data is the Message or at least id+status. */
  status(data) {
    const id = data && (data.id || data.messageId);
    const item = id && this.items.get(id);
    if (!item) {
      if (data && data.direction && data.text !== undefined) this.add(data);
      return;
    }
    this.render(item, mergeMessage(item.msg, { ...data, id }));
  }

  upsert(msg, where) {
    if (!msg || !msg.id) return;
    const item = this.items.get(msg.id);
    if (item) {
      this.render(item, mergeMessage(item.msg, msg));
      return;
    }
    const fresh = { msg, el: h('li', { class: 'msg' }) };
    this.items.set(msg.id, fresh);
    this.render(fresh, msg);
    if (where === 'start') this.list.prepend(fresh.el);
    else this.list.append(fresh.el);
  }

  render(item, msg) {
    item.msg = msg;
    const out = msg.direction === 'out';
    const el = item.el;
    el.className = 'msg ' + (out ? 'out' : 'in');
    el.dataset.messageId = msg.id;
    const peer = out ? msg.to || msg.chat : msg.from || msg.chat;
    const when = msg.createdAt || msg.updatedAt;
    const meta = h('div', { class: 'msg-meta' },
      h('span', { class: 'dir' }, h('span', { 'aria-hidden': 'true' }, out ? '↑ ' : '↓ '), out ? 'out' : 'in'),
      h('span', { class: 'peer' }, (out ? 'to ' : 'from ') + formatPeer(peer)),
      when ? h('time', { datetime: when }, formatTime(when)) : null);
    const text = h('p', { class: 'msg-text' });
    setText(text, msg.text || '');
    const parts = [meta, text];
    if (out) parts.push(ticks(msg));
    el.replaceChildren(...parts);
  }

  destroy() {
    this.items.clear();
  }
}

function ticks(msg) {
  const status = msg.status || 'queued';
  const el = h('p', { class: 'ticks t-' + status },
    h('span', { class: 'tick', 'aria-hidden': 'true' }, TICKS[status] || ''), ' ', status);
  if (status === 'failed' && msg.error) el.append(': ', msg.error);
  return el;
}

/**
 * SendForm sends a text message. The Idempotency-Key is kept until the API accepts
 * the message, so a retry after a network error cannot send it twice; editing the
 * form starts a new key.
 */
export class SendForm {
  constructor(api, sessionId, { onSent, onError }) {
    this.api = api;
    this.id = sessionId;
    this.onSent = onSent;
    this.onError = onError;
    this.key = '';
    this.build();
  }

  build() {
    const uid = 'send-' + this.id;
    this.to = h('input', { id: uid + '-to', name: 'to', type: 'text', required: true, autocomplete: 'off', placeholder: '15551234567 or 15551234567@s.whatsapp.net' });
    this.text = h('textarea', { id: uid + '-text', name: 'text', rows: '2', required: true, maxlength: '4096' });
    this.button = h('button', { type: 'submit' }, 'Send');
    this.note = h('p', { class: 'muted small', role: 'status' });
    this.el = h('form', { class: 'send-form' },
      h('h4', {}, 'Send a message'),
      h('div', { class: 'field' }, h('label', { for: uid + '-to' }, 'To (phone or JID)'), this.to),
      h('div', { class: 'field' }, h('label', { for: uid + '-text' }, 'Message'), this.text),
      h('div', { class: 'row' }, this.button, this.note));
    const reset = () => { this.key = ''; };
    this.to.addEventListener('input', reset);
    this.text.addEventListener('input', reset);
    this.text.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); this.el.requestSubmit(); }
    });
    this.el.addEventListener('submit', (e) => { e.preventDefault(); this.send(); });
  }

  async send() {
    const to = this.to.value.trim();
    const text = this.text.value;
    if (!to || !text.trim()) return;
    if (!this.key) this.key = newIdempotencyKey();
    this.button.disabled = true;
    setText(this.note, 'Sending…');
    try {
      const { data } = await this.api.request('POST', `/v1/sessions/${encodeURIComponent(this.id)}/messages`, {
        body: { to, text },
        headers: { 'Idempotency-Key': this.key },
      });
      this.key = '';
      this.text.value = '';
      setText(this.note, 'Queued.');
      if (data) this.onSent(data);
    } catch (err) {
      if (err instanceof ApiError && err.status === 429) {
        const wait = err.retryAfter !== undefined ? ` Try again in ${err.retryAfter} s.` : ' Try again shortly.';
        setText(this.note, 'Rate limited.' + wait);
        this.onError(new ApiError(429, err.code, err.message + wait, err.retryAfter));
      } else if (err instanceof ApiError && err.status === 0) {
        setText(this.note, 'Not sent: network error. Press Send to retry (it will not be sent twice).');
        this.onError(err);
      } else {
        setText(this.note, '');
        this.onError(err);
      }
    } finally {
      this.button.disabled = false;
    }
  }
}
