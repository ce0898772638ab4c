// diagnostics.js: the network diagnostics panel: the latest report and a button to
// run a fresh one (200 with the report locally, 202 then polling in AWS).

import { ApiError, sleep } from './api.js';
import { ADVICE, checkDuration, checkFamily, checkOutcome, connectorSummary, formatTime, validTime } from './format.js';
import { h, setText } from './dom.js';

const POLL_MS = 2000;
const POLL_LIMIT = 45;

/** Diagnostics renders GET /v1/diagnostics and runs POST /v1/diagnostics. */
export class Diagnostics {
  constructor(api, root, { onError }) {
    this.api = api;
    this.root = root;
    this.onError = onError;
    this.running = false;
    this.build();
  }

  build() {
    this.button = h('button', { type: 'button', onclick: () => this.run() }, 'Run diagnostics');
    this.summary = h('p', { class: 'muted', role: 'status' });
    this.connectors = h('ul', { class: 'connectors muted', 'aria-label': 'Connectors' });
    this.body = h('div', { class: 'diag-body' });
    this.root.append(h('div', { class: 'row' }, this.button, this.summary), this.connectors, this.body);
  }

  /** loadHealth shows the live connectors from GET /v1/health (heartbeats). */
  async loadHealth() {
    try {
      const { data } = await this.api.request('GET', '/v1/health');
      this.connectors.replaceChildren(...connectorSummary(data).map((line) => h('li', {}, line)));
    } catch {
      this.connectors.replaceChildren();
    }
  }

  /** load shows the connectors and the latest stored report, if any. */
  async load() {
    this.loadHealth();
    try {
      const { data } = await this.api.request('GET', '/v1/diagnostics');
      this.render(reportOf(data));
      return reportOf(data);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        this.render(null);
      } else if (!(err instanceof ApiError && err.status === 401)) {
        setText(this.summary, 'Could not load the latest report: ' + err.message);
      }
      return null;
    }
  }

  async run() {
    if (this.running) return;
    this.running = true;
    this.button.disabled = true;
    this.button.setAttribute('aria-busy', 'true');
    setText(this.summary, 'Running checks…');
    try {
      const before = this.current;
      const res = await this.api.request('POST', '/v1/diagnostics');
      const report = reportOf(res.data);
      if (res.status !== 202 && report) {
        this.render(report);
        this.loadHealth();
        return;
      }
      // Accepted: the connector runs the checks; poll until a newer report lands.
      for (let i = 0; i < POLL_LIMIT; i++) {
        await sleep(POLL_MS);
        let latest = null;
        try {
          latest = reportOf((await this.api.request('GET', '/v1/diagnostics')).data);
        } catch (err) {
          if (!(err instanceof ApiError && err.status === 404)) throw err;
        }
        if (latest && isNewer(latest, before, report)) {
          this.render(latest);
          this.loadHealth();
          return;
        }
      }
      setText(this.summary, 'No new report yet: the connector may be busy or offline. Try again later.');
    } catch (err) {
      setText(this.summary, '');
      this.onError(err);
      if (this.current) this.render(this.current);
    } finally {
      this.running = false;
      this.button.disabled = false;
      this.button.removeAttribute('aria-busy');
    }
  }

  render(report) {
    this.current = report;
    if (!report) {
      setText(this.summary, 'No report yet: press Run diagnostics.');
      this.body.replaceChildren();
      return;
    }
    const checks = Array.isArray(report.checks) ? report.checks : [];
    const failed = checks.filter((c) => checkOutcome(c) === 'fail').length;
    const when = [report.finishedAt, report.at, report.startedAt, report.createdAt].find(validTime);
    const verdict = failed === 0 && report.ok !== false
      ? 'All checks passed'
      : `${failed} of ${checks.length} checks failed`;
    setText(this.summary, verdict + (when ? ` · ${formatTime(when)}` : '') + (report.connector ? ` · ${report.connector}` : ''));

    const rows = checks.map((c) => {
      const outcome = checkOutcome(c);
      const family = checkFamily(c);
      const mark = outcome === 'ok' ? '✅' : outcome === 'fail' ? '❌' : '⏭️';
      const err = c.error ? String(c.error) : '';
      const advice = outcome === 'fail' ? (c.advice || ADVICE[family] || '') : '';
      return h('tr', { class: 'o-' + outcome },
        h('td', {}, h('span', { 'aria-hidden': 'true' }, mark + ' '), outcome),
        h('th', { scope: 'row' }, String(c.name || c.kind || c.type || '')),
        h('td', { class: 'mono' }, String(c.target || '')),
        h('td', { class: 'mono addr' }, String(c.address || '')),
        h('td', { class: 'num' }, checkDuration(c)),
        h('td', {},
          err ? h('span', { class: 'diag-error' }, err) : null,
          advice ? h('span', { class: 'advice' }, advice) : null));
    });
    const table = h('table', { class: 'diag' },
      h('caption', { class: 'sr-only' }, 'Network checks'),
      h('thead', {}, h('tr', {},
        h('th', { scope: 'col' }, 'Result'), h('th', { scope: 'col' }, 'Check'), h('th', { scope: 'col' }, 'Target'),
        h('th', { scope: 'col' }, 'Address'), h('th', { scope: 'col' }, 'Duration'), h('th', { scope: 'col' }, 'Error and advice'))),
      h('tbody', {}, rows));
    this.body.replaceChildren(h('div', { class: 'table-wrap' }, table));
  }
}

/** reportOf accepts a bare Report or one wrapped as {"report": Report}. */
function reportOf(data) {
  if (!data || typeof data !== 'object') return null;
  if (data.report && typeof data.report === 'object') return data.report;
  if (Array.isArray(data.checks)) return data;
  return null;
}

function isNewer(latest, before, accepted) {
  if (accepted && accepted.id && latest.id === accepted.id && Array.isArray(latest.checks) && latest.checks.length) return true;
  if (!before) return true;
  if (latest.id && before.id) return latest.id !== before.id;
  const t = (r) => Date.parse(r.finishedAt || r.at || r.startedAt || '') || 0;
  return t(latest) > t(before);
}
