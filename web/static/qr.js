// qr.js: the linking panel of a session: the QR image (refreshed as codes rotate, with
// a countdown) and the "Link with phone number" form.

import { ApiError, sleep } from './api.js';
import { formatDuration, validTime } from './format.js';
import { h } from './dom.js';

const POLL_MS = 2500;
const PAIR_POLL_LIMIT = 40;

/**
 * QrPanel shows how to link a session while its status is qr or pairing. It polls
 * GET …/qr (JSON) while active and reloads the PNG whenever the code changes.
 */
export class QrPanel {
  constructor(api, sessionId, { onError, onGone }) {
    this.api = api;
    this.id = sessionId;
    this.onError = onError;
    this.onGone = onGone;
    this.code = '';
    this.expiresAt = '';
    this.objectURL = '';
    this.pollTimer = 0;
    this.tick = 0;
    this.active = false;
    this.polling = false;
    this.build();
  }

  path(suffix) { return `/v1/sessions/${encodeURIComponent(this.id)}${suffix}`; }

  build() {
    const uid = 'qr-' + this.id;
    this.img = h('img', { class: 'qr-img', alt: 'WhatsApp QR code', width: '264', height: '264', hidden: true });
    this.waiting = h('p', { class: 'qr-wait muted' }, 'Waiting for a code…');
    this.countdown = h('p', { class: 'countdown', 'aria-live': 'off' });
    this.qrBox = h('div', { class: 'qr-box' }, this.img, this.waiting, this.countdown);

    this.phone = h('input', {
      id: uid + '-phone', name: 'phone', type: 'tel', inputmode: 'tel', autocomplete: 'tel',
      placeholder: '15551234567', required: true,
    });
    this.pairButton = h('button', { type: 'submit' }, 'Get pairing code');
    this.pairOut = h('div', { class: 'pair-out', 'aria-live': 'polite' });
    this.pairForm = h('form', { class: 'pair-form' },
      h('h4', {}, 'Link with phone number'),
      h('p', { class: 'muted small' }, 'No camera? Enter the number of the phone to link (country code, digits only) and type the code it gets into WhatsApp on that phone.'),
      h('div', { class: 'field' },
        h('label', { for: uid + '-phone' }, 'Phone number'),
        h('div', { class: 'row' }, this.phone, this.pairButton)),
      this.pairOut);
    this.pairForm.addEventListener('submit', (e) => { e.preventDefault(); this.requestPairCode(); });

    this.el = h('section', { class: 'qr-panel', 'aria-label': 'Link this session', hidden: true },
      this.qrBox, this.pairForm);
  }

  /** update follows the session's status: polling runs only while it is qr. */
  update(status) {
    const linking = status === 'qr' || status === 'pairing';
    this.el.hidden = !linking;
    this.qrBox.hidden = status !== 'qr';
    const wasActive = this.active;
    this.active = status === 'qr';
    if (this.active && !wasActive) this.startPolling();
    if (!this.active && wasActive) this.stopPolling();
    if (!linking) this.pairOut.replaceChildren();
  }

  /** rotated is called on session.status events: fetch the code now, not at the next tick. */
  rotated() {
    if (this.active) this.poll();
  }

  startPolling() {
    this.poll();
    this.tick = setInterval(() => this.renderCountdown(), 1000);
  }

  stopPolling() {
    clearTimeout(this.pollTimer);
    clearInterval(this.tick);
    this.pollTimer = 0;
    this.tick = 0;
    this.code = '';
    this.expiresAt = '';
    this.img.hidden = true;
    this.img.removeAttribute('src');
    this.waiting.hidden = false;
    this.countdown.textContent = '';
    this.revoke();
  }

  async poll() {
    if (this.polling) return;
    clearTimeout(this.pollTimer);
    this.polling = true;
    try {
      const { data } = await this.api.request('GET', this.path('/qr'));
      if (!this.active) return;
      if (data && data.code && data.code !== this.code) {
        await this.loadImage(data);
        this.code = data.code;
      }
      this.expiresAt = data && data.expiresAt ? data.expiresAt : '';
      this.renderCountdown();
    } catch (err) {
      if (err instanceof ApiError && (err.status === 409 || err.status === 404)) {
        // The session left the qr status (scanned, timed out, deleted): reload it.
        this.onGone();
      } else if (err instanceof ApiError && err.status !== 0 && err.status !== 401) {
        this.onError(err);
      }
    } finally {
      this.polling = false;
      if (this.active) this.pollTimer = setTimeout(() => this.poll(), POLL_MS);
    }
  }

  async loadImage(qr) {
    let url = '';
    try {
      const blob = await this.api.blob(this.path('/qr'), 'image/png');
      url = URL.createObjectURL(blob);
    } catch (err) {
      // The JSON answer carries the same PNG: use it if the image request failed.
      if (!qr.png) throw err;
      url = 'data:image/png;base64,' + qr.png;
    }
    if (!this.active) {
      if (url.startsWith('blob:')) URL.revokeObjectURL(url);
      return;
    }
    const old = this.objectURL;
    this.objectURL = url.startsWith('blob:') ? url : '';
    this.img.src = url;
    this.img.hidden = false;
    this.waiting.hidden = true;
    if (old) URL.revokeObjectURL(old);
  }

  revoke() {
    if (this.objectURL) URL.revokeObjectURL(this.objectURL);
    this.objectURL = '';
  }

  renderCountdown() {
    if (!this.active || !validTime(this.expiresAt)) {
      this.countdown.textContent = '';
      return;
    }
    const left = Date.parse(this.expiresAt) - Date.now();
    this.countdown.textContent = left > 0
      ? `Code expires in ${formatDuration(left)}`
      : 'Code expired: waiting for the next one…';
    this.countdown.classList.toggle('soon', left > 0 && left < 10000);
  }

  async requestPairCode() {
    const phone = this.phone.value.replace(/[\s()+-]/g, '');
    if (!phone) { this.phone.focus(); return; }
    this.pairButton.disabled = true;
    this.pairOut.replaceChildren(h('p', { class: 'muted' }, 'Requesting a code…'));
    try {
      const code = await this.fetchPairCode(phone);
      this.pairOut.replaceChildren(
        h('p', {}, 'Enter this code on your phone: ', h('strong', { class: 'pair-code' }, code)),
        h('p', { class: 'muted small' }, 'WhatsApp → Settings → Linked devices → Link a device → Link with phone number instead.'));
    } catch (err) {
      this.pairOut.replaceChildren();
      this.onError(err);
    } finally {
      this.pairButton.disabled = false;
    }
  }

  /** fetchPairCode asks for a code; 202 means the connector has not answered yet. */
  async fetchPairCode(phone) {
    let method = 'POST';
    let path = this.path('/pair-code');
    for (let i = 0; i < PAIR_POLL_LIMIT; i++) {
      const res = await this.api.request(method, path, method === 'POST' ? { body: { phone } } : {});
      const code = res.data && (res.data.code || (res.data.data && res.data.data.code));
      if (res.status !== 202 && code) return code;
      if (res.status !== 202) throw new ApiError(res.status, 'no_code', 'The server answered without a pairing code.');
      this.pairOut.replaceChildren(h('p', { class: 'muted' }, 'Waiting for the code…'));
      const loc = res.headers.get('Location') || (res.data && res.data.poll);
      if (loc) {
        method = 'GET';
        path = new URL(loc, this.api.base ? this.api.base + '/' : window.location.href).href;
      }
      const after = Number(res.headers.get('Retry-After'));
      await sleep((Number.isFinite(after) && after > 0 ? Math.min(after, 10) : 2) * 1000);
    }
    throw new ApiError(504, 'timeout', 'No pairing code yet: try again in a moment.');
  }

  destroy() {
    this.active = false;
    this.stopPolling();
  }
}
