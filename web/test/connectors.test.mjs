// Unit tests of the connector line of the diagnostics panel (GET /v1/health).
// Run: node --test test/

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connectorSummary } from '../static/format.js';

test('connector summary from the health heartbeats', async (t) => {
  const now = Date.parse('2026-03-01T12:00:30Z');
  await t.test('no_connector_says_why_sessions_cannot_connect', () => {
    assert.deepEqual(connectorSummary({ status: 'degraded', connectors: [] }, now),
      ['No connector heartbeat: no connector is running, so sessions cannot connect.']);
    assert.equal(connectorSummary(null, now).length, 1);
  });
  await t.test('live_connector_with_failing_diagnostics', () => {
    const got = connectorSummary({
      status: 'ok',
      connectors: [{ connectorId: 'ip-10-0-1-5-ab12', version: '1.4.0', sessions: 3, at: '2026-03-01T12:00:20Z', diagnosticsOk: false }],
    }, now);
    assert.deepEqual(got, ['Connector ip-10-0-1-5-ab12 · version 1.4.0 · 3 sessions · heartbeat 10 s ago · diagnostics failing: see the checks below']);
  });
  await t.test('diagnostics_not_run_yet_is_not_mentioned', () => {
    const [line] = connectorSummary({ connectors: [{ connectorId: 'c1', sessions: 1, at: '2026-03-01T12:00:30Z' }] }, now);
    assert.equal(line, 'Connector c1 · 1 session · heartbeat 0 s ago');
  });
  await t.test('diagnostics_ok', () => {
    const [line] = connectorSummary({ connectors: [{ connectorId: 'c1', diagnosticsOk: true }] }, now);
    assert.match(line, /diagnostics ok$/);
  });
});
