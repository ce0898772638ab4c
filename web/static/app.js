// app.js: the Messenger Settings page: access token, session list with live status,
// the settings form, live events and the diagnostics panel.

import { Api, ApiError, EventStream, takeFromHash } from './api.js';
import { ID_PATTERN } from './format.js';
import { h, setText } from './dom.js';
import { SessionCard } from './session.js';
import { Diagnostics } from './diagnostics.js';

const REFRESH_MS = 15000;
// DELETE is answered before the connector has removed the session: keep its card away
// for this long unless the list still has it after that (then the deletion failed).
const DELETE_GRACE_MS = 60000;

const $ = (id) => document.getElementById(id);

class App {
  constructor() {
    this.api = new Api();
    this.cards = new Map(); // session id → SessionCard
    this.refreshTimer = 0;
    this.pending = new Map(); // session id → timer of a queued re-read
    this.deleting = new Map(); // session id → time until which it is hidden
    this.api.onUnauthorized = () => this.rejected();
    this.events = new EventStream(this.api, {
      onEvent: (ev) => this.onEvent(ev),
      onState: (state, delay) => this.liveState(state, delay),
    });
    this.diagnostics = new Diagnostics(this.api, $('diagnostics-body'), { onError: (e) => this.error(e) });
    this.bindAuth();
    this.bindSettings();
    $('refresh').addEventListener('click', () => this.loadSessions());
    // A link with a fresh #token=... pasted into an open tab takes effect at once.
    window.addEventListener('hashchange', () => {
      if (takeFromHash()) { this.stop(); this.start(); }
    });
  }

  start() {
    takeFromHash();
    if (!this.api.token) {
      this.showAuth('');
      return;
    }
    this.hideAuth();
    this.loadSessions();
    this.diagnostics.load();
    this.events.start();
    clearInterval(this.refreshTimer);
    this.refreshTimer = setInterval(() => this.poll(), REFRESH_MS);
  }

  /** poll is the fallback for missed events: re-read the list, and inboxes when not live. */
  async poll() {
    await this.loadSessions(true);
    if (this.isLive) return;
    for (const card of this.cards.values()) {
      if (card.session.status === 'connected') card.inbox.refresh();
    }
  }

  stop() {
    this.events.stop();
    clearInterval(this.refreshTimer);
    this.refreshTimer = 0;
  }

  // ---- alert region ----

  /** error shows an API error's message in the alert region (role="alert"). */
  error(err) {
    if (err && err.name === 'AbortError') return;
    const msg = err instanceof ApiError || err instanceof Error ? err.message : String(err);
    const code = err instanceof ApiError && err.code && err.status !== 0 ? err.code : '';
    this.alert(msg, code);
  }

  alert(message, code = '') {
    const box = $('alert');
    const dismiss = h('button', { type: 'button', class: 'link', onclick: () => box.replaceChildren() }, 'Dismiss');
    box.replaceChildren(h('p', {}, message, code ? h('span', { class: 'muted small' }, ` (${code})`) : null), dismiss);
  }

  clearAlert() { $('alert').replaceChildren(); }

  // ---- access token ----

  bindAuth() {
    $('auth-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const token = $('auth-token').value.trim();
      if (!token) { $('auth-token').focus(); return; }
      this.api.configure(token, $('auth-api').value);
      $('auth-token').value = '';
      this.clearAlert();
      this.start();
    });
    $('change-token').addEventListener('click', () => {
      this.stop();
      this.showAuth('');
    });
    $('auth-cancel').addEventListener('click', () => this.start());
  }

  showAuth(reason) {
    $('auth').hidden = false;
    $('workspace').hidden = true;
    $('change-token').hidden = true;
    $('auth-api').value = this.api.base;
    $('auth-cancel').hidden = !this.api.token || reason !== '';
    setText($('auth-reason'), reason);
    $('auth-token').focus();
  }

  hideAuth() {
    $('auth').hidden = true;
    $('workspace').hidden = false;
    $('change-token').hidden = false;
  }

  rejected() {
    this.stop();
    this.alert('token rejected: enter a valid access token.', 'unauthorized');
    this.showAuth('token rejected');
  }

  // ---- sessions ----

  async loadSessions(quiet = false) {
    const list = $('sessions');
    list.setAttribute('aria-busy', 'true');
    try {
      const { data } = await this.api.request('GET', '/v1/sessions');
      const sessions = (data && Array.isArray(data.sessions)) ? data.sessions : [];
      const seen = new Set();
      for (const s of sessions) {
        if (!s || !s.id || this.isDeleting(s.id)) continue;
        seen.add(s.id);
        this.upsert(s);
      }
      for (const id of [...this.cards.keys()]) if (!seen.has(id)) this.removeCard(id);
      this.order();
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 401) && !quiet) this.error(err);
    } finally {
      list.removeAttribute('aria-busy');
      $('sessions-empty').hidden = this.cards.size > 0;
    }
  }

  isDeleting(id) {
    const until = this.deleting.get(id);
    if (until === undefined) return false;
    if (Date.now() < until) return true;
    this.deleting.delete(id);
    return false;
  }

  upsert(session) {
    if (this.isDeleting(session.id)) return null;
    const card = this.cards.get(session.id);
    if (card) {
      card.update(session);
      return card;
    }
    const fresh = new SessionCard({
      api: this.api,
      onError: (e) => this.error(e),
      onEdit: (s) => this.edit(s),
      onRemoved: (id) => {
        this.deleting.set(id, Date.now() + DELETE_GRACE_MS);
        this.removeCard(id);
      },
      refresh: (id) => this.refreshSoon(id),
    }, session);
    this.cards.set(session.id, fresh);
    $('sessions').append(fresh.el);
    $('sessions-empty').hidden = true;
    return fresh;
  }

  order() {
    const ids = [...this.cards.keys()].sort();
    for (const id of ids) $('sessions').append(this.cards.get(id).el);
  }

  removeCard(id) {
    const card = this.cards.get(id);
    if (!card) return;
    card.destroy();
    this.cards.delete(id);
    $('sessions-empty').hidden = this.cards.size > 0;
  }

  /** refreshSoon re-reads one session, coalescing bursts of events. */
  refreshSoon(id) {
    if (this.pending.has(id)) return;
    this.pending.set(id, setTimeout(async () => {
      this.pending.delete(id);
      try {
        const { data } = await this.api.request('GET', `/v1/sessions/${encodeURIComponent(id)}`);
        if (data && data.id) this.upsert(data);
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) this.removeCard(id);
      }
    }, 300));
  }

  // ---- live events ----

  onEvent(ev) {
    const id = ev.sessionId || (ev.data && ev.data.sessionId);
    if (id && this.isDeleting(id)) return;
    const card = id && this.cards.get(id);
    switch (ev.type) {
      case 'session.status':
        if (card) card.statusEvent(ev.data);
        else if (id) this.refreshSoon(id);
        break;
      case 'message.in':
        if (card && ev.data) card.inbox.add(ev.data);
        break;
      case 'message.status':
        if (card && ev.data) card.inbox.status(ev.data);
        break;
      default:
        break;
    }
  }

  liveState(state, delay) {
    const el = $('live');
    el.dataset.state = state;
    this.isLive = state === 'live';
    switch (state) {
      case 'live': setText(el, 'live'); break;
      case 'reconnecting':
        setText(el, `offline, retrying in ${delay} s`);
        break;
      case 'unavailable': setText(el, 'refreshing every 15 s'); break;
      default: setText(el, 'paused'); break;
    }
    // Catch up on whatever happened while the stream was down.
    if (state === 'live' && this.cards.size) this.loadSessions(true);
  }

  // ---- settings form ----

  bindSettings() {
    const form = $('settings-form');
    const id = $('set-id');
    id.addEventListener('input', () => this.checkID());
    form.addEventListener('submit', (e) => { e.preventDefault(); this.save(); });
    $('set-cancel').addEventListener('click', () => this.resetForm());
  }

  checkID() {
    const id = $('set-id');
    const v = id.value;
    const ok = v === '' || ID_PATTERN.test(v);
    id.setAttribute('aria-invalid', ok ? 'false' : 'true');
    setText($('set-id-error'), ok ? '' : 'Use 1–64 lowercase letters, digits, "-" or "_", starting with a letter or digit.');
    return ok;
  }

  edit(session) {
    const s = session.settings || {};
    $('settings-title').textContent = 'Edit session';
    $('set-id').value = session.id;
    $('set-id').readOnly = true;
    $('set-name').value = session.displayName || s.displayName || '';
    $('set-ipv4').checked = s.preferIPv4 !== false;
    $('set-proxy').value = s.proxyURL || '';
    $('set-webhook').value = s.webhookURL || '';
    $('set-auto').checked = !!s.autoConnect;
    $('set-cancel').hidden = false;
    this.checkID();
    $('settings').scrollIntoView({ behavior: 'smooth', block: 'start' });
    $('set-name').focus({ preventScroll: true });
  }

  resetForm() {
    $('settings-form').reset();
    $('settings-title').textContent = 'Add a session';
    $('set-id').readOnly = false;
    $('set-cancel').hidden = true;
    setText($('set-status'), '');
    this.checkID();
  }

  async save() {
    const id = $('set-id').value.trim();
    if (!id) { $('set-id').focus(); return; }
    // The pattern check is a hint: the server decides, and its message is shown.
    this.checkID();
    const body = {
      displayName: $('set-name').value.trim(),
      preferIPv4: $('set-ipv4').checked,
      proxyURL: $('set-proxy').value.trim(),
      webhookURL: $('set-webhook').value.trim(),
      autoConnect: $('set-auto').checked,
    };
    for (const k of ['displayName', 'proxyURL', 'webhookURL']) if (!body[k]) delete body[k];
    const button = $('set-save');
    button.disabled = true;
    setText($('set-status'), 'Saving…');
    try {
      const res = await this.api.request('PUT', `/v1/sessions/${encodeURIComponent(id)}`, { body });
      this.clearAlert();
      this.deleting.delete(id);
      if (res.data && res.data.id) {
        this.upsert(res.data);
        this.order();
      } else {
        await this.loadSessions(true);
      }
      this.resetForm();
      setText($('set-status'), res.status === 201 ? `Session ${id} created.` : `Session ${id} saved.`);
    } catch (err) {
      setText($('set-status'), '');
      this.error(err);
    } finally {
      button.disabled = false;
    }
  }
}

const app = new App();
app.start();
