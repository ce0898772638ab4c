// Unit tests of the page's DOM-free modules: the SSE parser, the token hand-over from
// the URL and the wording functions. Run: node --test test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseParser, parseRetryAfter, takeFromHash, normalizeBase, newIdempotencyKey } from '../static/api.js';
import { mergeMessage } from '../static/inbox.js';
import {
  ID_PATTERN, STATUSES, statusHint, statusTone, phoneFromJID, formatPeer, checkFamily, checkOutcome, checkDuration,
} from '../static/format.js';

function parseAll(chunks) {
  const got = [];
  const p = new SseParser((ev) => got.push(ev));
  for (const c of chunks) p.push(c);
  return got;
}

test('sse parser', async (t) => {
  const cases = [
    {
      name: 'one_event_per_blank_line',
      chunks: ['data: {"a":1}\n\ndata: {"a":2}\n\n'],
      want: [{ event: 'message', data: '{"a":1}', id: '' }, { event: 'message', data: '{"a":2}', id: '' }],
    },
    {
      name: 'split_across_chunks_and_crlf',
      chunks: ['id: 7\r', '\nevent: session.status\r\nda', 'ta: x\r\n\r', '\n'],
      want: [{ event: 'session.status', data: 'x', id: '7' }],
    },
    {
      name: 'multi_line_data_and_comments',
      chunks: [': keep-alive\n\ndata: a\ndata:b\n: note\n\n'],
      want: [{ event: 'message', data: 'a\nb', id: '' }],
    },
    {
      name: 'incomplete_event_waits',
      chunks: ['data: half'],
      want: [],
    },
    {
      name: 'id_persists_across_events',
      chunks: ['id: 1\ndata: a\n\ndata: b\n\n'],
      want: [{ event: 'message', data: 'a', id: '1' }, { event: 'message', data: 'b', id: '1' }],
    },
  ];
  for (const c of cases) {
    await t.test(c.name, () => assert.deepEqual(parseAll(c.chunks), c.want));
  }
});

test('token from the URL hash is stored once and removed from the address bar', () => {
  const store = new Map();
  const storage = { setItem: (k, v) => store.set(k, v), getItem: (k) => store.get(k) ?? null };
  let replaced = null;
  const hist = { replaceState: (_s, _t, url) => { replaced = url; } };
  const loc = { hash: '#token=abc%20def&api=https%3A%2F%2Fapi.example.com%2F', pathname: '/admin/', search: '?x=1' };
  assert.equal(takeFromHash(loc, storage, hist), true);
  assert.equal(store.get('wagate.token'), 'abc def');
  assert.equal(store.get('wagate.api'), 'https://api.example.com');
  assert.equal(replaced, '/admin/?x=1');

  replaced = null;
  assert.equal(takeFromHash({ hash: '#section', pathname: '/', search: '' }, storage, hist), false);
  assert.equal(replaced, null, 'an unrelated hash is left alone');
});

test('retry-after and base URL', () => {
  assert.equal(parseRetryAfter('7'), 7);
  assert.equal(parseRetryAfter(null), undefined);
  const now = Date.parse('2026-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now), 30);
  assert.equal(normalizeBase(' https://x.example/v//'), 'https://x.example/v');
});

test('idempotency keys are distinct UUIDs', () => {
  const a = newIdempotencyKey();
  const b = newIdempotencyKey();
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.notEqual(a, b);
});

test('session id pattern', () => {
  for (const ok of ['a', 'sales-1', 'x_y', '0'.repeat(64)]) assert.ok(ID_PATTERN.test(ok), ok);
  for (const bad of ['', '-a', '_a', 'Sales', 'a b', 'a/b', '0'.repeat(65)]) assert.ok(!ID_PATTERN.test(bad), bad);
});

test('status hints', () => {
  const now = Date.parse('2026-01-01T00:00:00Z');
  for (const s of STATUSES) {
    const hint = statusHint({ status: s }, now);
    assert.ok(hint.length > 0, `${s} has a hint`);
    // The status chip is the only place the word "connected" may appear: a hint that
    // says it would make "disconnected" pages look linked to a reader or a test.
    if (s !== 'connected') assert.ok(!/\bconnected\b/i.test(hint), `${s}: ${hint}`);
  }
  assert.match(statusHint({ status: 'replaced' }), /another device or server took over this session/i);
  assert.match(statusHint({ status: 'outdated' }), /WhatsApp client version outdated: upgrade wagate/);
  assert.match(statusHint({ status: 'banned', retryAt: '2026-01-01T02:00:00Z' }, now), /^Temporarily banned until .+\(in 2 h\)\.$/);
  assert.match(statusHint({ status: 'disconnected', lastError: { code: 'qr_timeout' } }), /not scanned in time/);
  assert.equal(statusTone('connected'), 'ok');
  assert.equal(statusTone('banned'), 'bad');
});

test('phone numbers from JIDs', () => {
  assert.equal(phoneFromJID('15551234567:12@s.whatsapp.net'), '+15551234567');
  assert.equal(phoneFromJID('15551234567@s.whatsapp.net'), '+15551234567');
  assert.equal(phoneFromJID('120363000000000000@g.us'), '');
  assert.equal(phoneFromJID(''), '');
  assert.equal(formatPeer('15551234567'), '+15551234567');
  assert.equal(formatPeer('120363000000000000@g.us'), '120363000000000000@g.us');
});

test('diagnostics checks', () => {
  assert.equal(checkFamily({ kind: 'dns_aaaa' }), 'dns');
  assert.equal(checkFamily({ kind: 'tcp6' }), 'tcp');
  assert.equal(checkFamily({ kind: 'tls' }), 'tls');
  assert.equal(checkFamily({ kind: 'websocket' }), 'websocket');
  assert.equal(checkFamily({ name: 'ws upgrade' }), 'websocket');
  assert.equal(checkOutcome({ outcome: 'ok' }), 'ok');
  assert.equal(checkOutcome({ outcome: 'fail' }), 'fail');
  assert.equal(checkOutcome({ outcome: 'skipped' }), 'skipped');
  assert.equal(checkOutcome({ ok: false }), 'fail');
  assert.equal(checkDuration({ durationMs: 12.4 }), '12 ms');
  assert.equal(checkDuration({ durationMs: 5001 }), '5.00 s');
  assert.equal(checkDuration({ duration: 2_000_000 }), '2 ms');
  assert.equal(checkDuration({ duration: '1.5s' }), '1.5s');
});

test('message status never moves back', () => {
  const delivered = { id: 'm', status: 'delivered', text: 'hi' };
  assert.equal(mergeMessage(delivered, { id: 'm', status: 'queued' }).status, 'delivered');
  assert.equal(mergeMessage(delivered, { id: 'm', status: 'read' }).status, 'read');
  const failed = mergeMessage({ id: 'm', status: 'queued' }, { id: 'm', status: 'failed', error: 'no such user' });
  assert.deepEqual([failed.status, failed.error], ['failed', 'no such user']);
  assert.equal(mergeMessage(failed, { id: 'm', status: 'read' }).status, 'failed');
});
