// session.js: one session card: status, facts, actions, linking panel, send form and
// inbox.

import { ApiError } from './api.js';
import { formatTime, phoneFromJID, statusHint, statusTone, validTime } from './format.js';
import { h, setText } from './dom.js';
import { QrPanel } from './qr.js';
import { Inbox, SendForm } from './inbox.js';

/** SessionCard renders a Session and carries out its buttons. */
export class SessionCard {
  /**
   * ctx: {api, onError(err), onEdit(session), onRemoved(id), refresh(id)}.
   */
  constructor(ctx, session) {
    this.ctx = ctx;
    this.id = session.id;
    this.session = session;
    this.lastStatus = '';
    this.build();
    this.update(session);
    this.inbox.load();
  }

  path(suffix = '') { return `/v1/sessions/${encodeURIComponent(this.id)}${suffix}`; }

  build() {
    const titleId = 'session-' + this.id + '-title';
    const onError = (err) => this.ctx.onError(err);
    this.title = h('h3', { id: titleId });
    this.chip = h('span', { class: 'chip' });
    this.hint = h('p', { class: 'hint' });
    this.facts = h('dl', { class: 'facts' });

    const act = (label, fn, cls) => h('button', { type: 'button', class: cls, onclick: (e) => this.run(e.currentTarget, fn) }, label);
    this.buttons = {
      connect: act('Connect', () => this.post('/connect'), 'primary'),
      disconnect: act('Disconnect', () => this.post('/disconnect')),
      logout: act('Log out', () => this.logout(), 'danger-outline'),
      remove: act('Delete', () => this.remove(), 'danger'),
    };
    const edit = h('button', { type: 'button', class: 'link', onclick: () => this.ctx.onEdit(this.session) }, 'Edit settings');

    this.qr = new QrPanel(this.ctx.api, this.id, { onError, onGone: () => this.ctx.refresh(this.id) });
    this.inbox = new Inbox(this.ctx.api, this.id, { onError });
    this.sender = new SendForm(this.ctx.api, this.id, { onError, onSent: (m) => this.inbox.add(m) });

    this.el = h('article', { class: 'card session', 'aria-labelledby': titleId, 'data-session-id': this.id },
      h('header', { class: 'card-head' },
        h('div', { class: 'title-block' }, this.title, h('p', { class: 'muted small' }, 'ID ', h('code', {}, this.id))),
        this.chip),
      this.hint,
      this.facts,
      h('div', { class: 'actions', role: 'group', 'aria-label': 'Session actions' },
        this.buttons.connect, this.buttons.disconnect, this.buttons.logout, this.buttons.remove, edit),
      this.qr.el,
      this.sender.el,
      this.inbox.el);
  }

  /** update shows a newer state of the session; partial data (status events) is merged. */
  update(next) {
    const s = next.id ? next : { ...this.session, ...next };
    this.session = s;
    const status = s.status || 'new';
    setText(this.title, s.displayName || s.id);
    setText(this.chip, status);
    this.chip.className = 'chip tone-' + statusTone(status);
    this.chip.dataset.status = status;
    this.el.dataset.status = status;
    setText(this.hint, statusHint(s));
    this.renderFacts(s);
    const active = ['connecting', 'qr', 'pairing', 'connected', 'reconnecting'].includes(status);
    this.buttons.connect.classList.toggle('primary', !active);
    this.buttons.disconnect.classList.toggle('primary', active && status !== 'connected');
    this.qr.update(status);
    this.sender.el.hidden = status !== 'connected';
    if (status === 'connected' && this.lastStatus && this.lastStatus !== 'connected') this.inbox.load();
    this.lastStatus = status;
  }

  renderFacts(s) {
    const rows = [];
    const add = (label, ...value) => rows.push(h('div', { class: 'fact' }, h('dt', {}, label), h('dd', {}, ...value)));
    const phone = phoneFromJID(s.jid);
    if (phone) add('Phone', phone);
    if (s.jid) add('JID', h('code', {}, s.jid));
    if (s.pushName) add('WhatsApp name', s.pushName);
    if (s.lastError && (s.lastError.code || s.lastError.message)) {
      add('Last error',
        h('code', { class: 'err-code' }, s.lastError.code || 'error'),
        s.lastError.message ? ' ' + s.lastError.message : '',
        validTime(s.lastError.at) ? h('span', { class: 'muted small' }, ' (' + formatTime(s.lastError.at) + ')') : null);
    }
    if (validTime(s.retryAt)) add('Retry at', h('time', { datetime: s.retryAt }, formatTime(s.retryAt)));
    if (validTime(s.connectedAt)) add('Online since', h('time', { datetime: s.connectedAt }, formatTime(s.connectedAt)));
    const st = s.settings || {};
    const opts = [st.preferIPv4 === false ? 'IPv6 allowed first' : 'IPv4 first'];
    if (st.proxyURL) opts.push('proxy ' + st.proxyURL);
    if (st.webhookURL) opts.push('webhook ' + st.webhookURL);
    if (st.autoConnect) opts.push('auto-connect');
    add('Settings', opts.join(' · '));
    this.facts.replaceChildren(...rows);
  }

  /** statusEvent applies a session.status event and re-reads the session soon after. */
  statusEvent(data) {
    if (data && typeof data === 'object') this.update(data);
    if (this.session.status === 'qr') this.qr.rotated();
    if (!data || !data.id) this.ctx.refresh(this.id);
  }

  async run(button, fn) {
    if (button.disabled) return;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      await fn();
    } catch (err) {
      this.ctx.onError(err);
      if (err instanceof ApiError && err.status === 404) this.ctx.onRemoved(this.id);
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  async post(suffix) {
    const { data } = await this.ctx.api.request('POST', this.path(suffix));
    if (data && data.id) this.update(data);
    else this.ctx.refresh(this.id);
  }

  async logout() {
    const name = this.session.displayName || this.id;
    if (!window.confirm(`Log out "${name}"? The device is unlinked from the phone; linking again needs a fresh code.`)) return;
    await this.post('/logout');
  }

  async remove() {
    const name = this.session.displayName || this.id;
    if (!window.confirm(`Delete "${name}"? This logs it out and deletes its settings and messages.`)) return;
    await this.ctx.api.request('DELETE', this.path());
    this.ctx.onRemoved(this.id);
  }

  destroy() {
    this.qr.destroy();
    this.inbox.destroy();
    this.el.remove();
  }
}
