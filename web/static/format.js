// format.js: pure functions that turn API values into words for people. No DOM here, so
// these run under node's test runner as well.

/** ID_PATTERN is the session id rule of the API (the server has the last word). */
export const ID_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** STATUSES lists the session status enum in lifecycle order. */
export const STATUSES = [
  'new', 'connecting', 'qr', 'pairing', 'connected', 'reconnecting',
  'disconnected', 'logged_out', 'replaced', 'banned', 'outdated', 'failed',
];

/** statusTone groups statuses for the colour of the status chip. */
export function statusTone(status) {
  switch (status) {
    case 'connected': return 'ok';
    case 'connecting': case 'qr': case 'pairing': case 'reconnecting': return 'busy';
    case 'new': case 'disconnected': return 'idle';
    case 'logged_out': case 'replaced': case 'banned': case 'outdated': case 'failed': return 'bad';
    default: return 'idle';
  }
}

/**
 * statusHint explains a session's status in one short sentence. The hints avoid the
 * other status words, so the status chip is the only place a status word appears.
 */
export function statusHint(session, now = Date.now()) {
  const s = session || {};
  const err = s.lastError || null;
  const until = validTime(s.retryAt) ? formatTime(s.retryAt) : '';
  switch (s.status) {
    case 'new': return 'Not linked yet: press Connect to get a code to scan.';
    case 'connecting': return 'Dialing WhatsApp…';
    case 'qr': return 'Scan the code below with WhatsApp on your phone (Settings → Linked devices → Link a device).';
    case 'pairing': return 'Enter the pairing code on your phone to finish linking.';
    case 'connected': return 'Linked and online: messages flow.';
    case 'reconnecting':
      return until ? `Link lost: trying again automatically at ${until}.` : 'Link lost: trying again automatically.';
    case 'disconnected':
      if (err && err.code === 'qr_timeout') return 'The code was not scanned in time: press Connect for a fresh one.';
      return 'Stopped on request; the link is kept. Press Connect to go online.';
    case 'logged_out': return 'The phone removed this linked device: press Connect and scan a fresh code.';
    case 'replaced': return 'Another device or server took over this session.';
    case 'banned':
      if (until) {
        const wait = Date.parse(s.retryAt) - now;
        return `Temporarily banned until ${until}` + (wait > 0 ? ` (in ${formatDuration(wait)}).` : '.');
      }
      return 'Temporarily banned by WhatsApp.';
    case 'outdated': return 'WhatsApp client version outdated: upgrade wagate.';
    case 'failed': return 'The link could not be set up: read the error below, then press Connect to try again.';
    default: return '';
  }
}

/** validTime reports whether v is a usable timestamp (Go's zero time is not). */
export function validTime(v) {
  if (!v) return false;
  const t = Date.parse(v);
  return !Number.isNaN(t) && t > Date.UTC(2000, 0, 1);
}

/** formatTime renders an RFC 3339 time in the viewer's locale. */
export function formatTime(v) {
  if (!validTime(v)) return '';
  return new Date(v).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
  });
}

/** formatDuration renders milliseconds as "45 s", "3 min 5 s" or "2 h 10 min". */
export function formatDuration(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
  const h = Math.floor(m / 60);
  return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
}

/**
 * connectorSummary renders GET /v1/health for the diagnostics panel: one line per
 * live connector (id, version, sessions held, heartbeat age, outcome of its latest
 * diagnostics run), or why there is none.
 */
export function connectorSummary(health, now = Date.now()) {
  const list = health && Array.isArray(health.connectors) ? health.connectors : [];
  if (list.length === 0) {
    return ['No connector heartbeat: no connector is running, so sessions cannot connect.'];
  }
  return list.map((c) => {
    const parts = [`Connector ${c.connectorId || '?'}`];
    if (c.version) parts.push(`version ${c.version}`);
    if (typeof c.sessions === 'number') parts.push(`${c.sessions} session${c.sessions === 1 ? '' : 's'}`);
    if (validTime(c.at)) parts.push(`heartbeat ${formatDuration(now - Date.parse(c.at))} ago`);
    if (c.diagnosticsOk === true) parts.push('diagnostics ok');
    else if (c.diagnosticsOk === false) parts.push('diagnostics failing: see the checks below');
    return parts.join(' · ');
  });
}

/** phoneFromJID returns "+15551234567" for "15551234567:3@s.whatsapp.net", else ''. */
export function phoneFromJID(jid) {
  if (!jid || typeof jid !== 'string') return '';
  const [user, server = ''] = jid.split('@');
  if (server && server !== 's.whatsapp.net' && server !== 'c.us') return '';
  const digits = user.split(':')[0].split('.')[0];
  return /^\d{5,20}$/.test(digits) ? '+' + digits : '';
}

/** formatPeer renders a phone number or JID for the inbox. */
export function formatPeer(v) {
  if (!v) return '';
  if (/^\d{5,20}$/.test(v)) return '+' + v;
  return phoneFromJID(v) || v;
}

/** TICKS maps an outgoing message status to its mark. */
export const TICKS = { queued: '⏳', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '✗' };

/** checkFamily returns the family of a diagnostics check: dns, tcp, tls or websocket. */
export function checkFamily(check) {
  const k = String((check && (check.kind || check.type || check.name)) || '').toLowerCase();
  if (/websocket|(^|[^a-z])wss?([^a-z]|$)/.test(k)) return 'websocket';
  if (k.includes('tls')) return 'tls';
  if (k.includes('tcp')) return 'tcp';
  if (k.includes('dns')) return 'dns';
  return '';
}

/** ADVICE is the fallback advice per failed check family. */
export const ADVICE = {
  dns: 'DNS lookup failed: check resolver or set preferIPv4 / a proxy.',
  tcp: 'TCP connect failed: check that the firewall allows outbound port 443, or set a proxy.',
  tls: 'TLS handshake failed: check for a TLS-inspecting proxy or a wrong system clock.',
  websocket: 'WebSocket upgrade failed: check that proxies let WebSocket (Upgrade) through on port 443.',
};

/** checkOutcome normalizes a check's result to "ok", "fail" or "skipped". */
export function checkOutcome(check) {
  const c = check || {};
  const o = String(c.outcome ?? c.status ?? c.result ?? '').toLowerCase();
  if (o === 'ok' || o === 'pass' || o === 'passed' || o === 'success') return 'ok';
  if (o === 'skipped' || o === 'skip') return 'skipped';
  if (o) return 'fail';
  if (c.ok === true) return 'ok';
  if (c.ok === false || c.error) return 'fail';
  return 'skipped';
}

/** checkDuration renders a check's duration, whichever field carries it. */
export function checkDuration(check) {
  const c = check || {};
  if (typeof c.durationMs === 'number') return c.durationMs > 0 || checkOutcome(c) !== 'skipped' ? formatMs(c.durationMs) : '';
  if (typeof c.duration === 'string') return c.duration;
  if (typeof c.duration === 'number') {
    // Go's time.Duration marshals as nanoseconds.
    return formatMs(c.duration > 1e5 ? c.duration / 1e6 : c.duration);
  }
  return '';
}

function formatMs(ms) {
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}
