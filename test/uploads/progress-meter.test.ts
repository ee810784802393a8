import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressMeter } from '../../src/uploads/progress-meter.js';

test('the rate is what the link carries, not the socket buffer filled at the start', () => {
  const meter = new ProgressMeter();
  const link = 1_000_000; // bytes per second
  const buffer = 2_000_000; // swallowed by the socket at once
  meter.add(0, 0);
  meter.add(buffer, 10);
  assert.equal(meter.rate(), 0, 'no rate claimed during the warm-up');
  assert.equal(meter.eta(buffer, 20_000_000), null);
  for (let ms = 100; ms <= 3000; ms += 100) meter.add(buffer + (link * ms) / 1000, ms);
  const rate = meter.rate();
  assert.ok(Math.abs(rate - link) / link < 0.05, `rate ${rate} ≈ ${link}`);
  const done = buffer + link * 3;
  const eta = meter.eta(done, 20_000_000);
  assert.ok(eta !== null && Math.abs(eta - (20_000_000 - done) / link) <= 1, `eta ${eta}`);
});
