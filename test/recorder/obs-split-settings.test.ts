import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planObsSegments, type ReadProfileParameter } from '../../src/recorder/obs-split-settings.js';

/*
 * The planner is a pure decision over what GetProfileParameter answers; the profiles below are
 * what OBS 29 and OBS 30 answer for the keys (unknown keys read null/null). The OBS 30.2 path
 * (SplitRecordFile) cannot run here — Debian has OBS 29 — so its plan is checked here and its
 * calls are not.
 */
function profile(
  values: Record<string, string | null>,
  defaults: Record<string, string> = {},
): ReadProfileParameter {
  return (category, name) =>
    Promise.resolve({
      value: values[`${category}.${name}`] ?? null,
      defaultValue: defaults[`${category}.${name}`] ?? null,
    });
}

const OBS29_DEFAULTS = {
  'Output.Mode': 'Simple',
  'AdvOut.RecType': 'Standard',
  'AdvOut.RecFormat': 'mkv',
  'SimpleOutput.RecFormat': 'mkv',
  'AdvOut.RecSplitFileTime': '15',
  'AdvOut.RecSplitFileSize': '2048',
};

test('OBS 29 in Advanced mode: automatic splitting by whole minutes, the user values kept to put back', async () => {
  const read = profile({ 'Output.Mode': 'Advanced', 'AdvOut.RecSplitFileTime': '15' }, OBS29_DEFAULTS);
  const plan = await planObsSegments({ seconds: 90, canSplitRequest: false, read });
  assert.equal(plan.mode, 'auto-split');
  assert.equal(plan.seconds, 120, '90 s rounds to 2 minutes');
  assert.deepEqual(plan.changes, [
    { category: 'AdvOut', name: 'RecSplitFile', value: 'true', previous: null },
    { category: 'AdvOut', name: 'RecSplitFileType', value: 'Time', previous: null },
    { category: 'AdvOut', name: 'RecSplitFileTime', value: '2', previous: '15' },
  ]);
  const short = await planObsSegments({ seconds: 10, canSplitRequest: false, read });
  assert.equal(short.seconds, 60, 'OBS 29 cuts a minute at the least');
});

test('OBS 29 by size; an mp4 profile records Matroska parts; settings already right are left alone', async () => {
  const read = profile(
    { 'Output.Mode': 'Advanced', 'AdvOut.RecFormat': 'mp4', 'AdvOut.RecSplitFile': 'true' },
    OBS29_DEFAULTS,
  );
  const plan = await planObsSegments({ seconds: 60, sizeMb: 5, canSplitRequest: false, read });
  assert.equal(plan.mode, 'auto-split');
  assert.equal(plan.seconds, null);
  assert.equal(plan.sizeMb, 5);
  assert.deepEqual(plan.changes, [
    { category: 'AdvOut', name: 'RecFormat', value: 'mkv', previous: 'mp4' },
    { category: 'AdvOut', name: 'RecSplitFileType', value: 'Size', previous: null },
    { category: 'AdvOut', name: 'RecSplitFileSize', value: '5', previous: null },
  ]);
});

test('OBS 29 in Simple mode, or recording through custom FFmpeg output: one file, said why, nothing changed', async () => {
  const profiles: Array<Record<string, string>> = [
    {},
    { 'Output.Mode': 'Advanced', 'AdvOut.RecType': 'FFmpeg' },
  ];
  for (const values of profiles) {
    const plan = await planObsSegments({
      seconds: 60,
      canSplitRequest: false,
      read: profile(values, OBS29_DEFAULTS),
    });
    assert.equal(plan.mode, 'one-file');
    assert.match(plan.reason ?? '', /Advanced output mode/);
    assert.deepEqual(plan.changes, []);
  }
});

test('obs-websocket 5.5 (SplitRecordFile): cut by StreamAI every N seconds in any mode; OBS 30 keeps the format in RecFormat2', async () => {
  const read = profile({ 'SimpleOutput.RecFormat2': 'hybrid_mp4' }, { 'Output.Mode': 'Simple' });
  const plan = await planObsSegments({ seconds: 10, canSplitRequest: true, read });
  assert.equal(plan.mode, 'split-request');
  assert.equal(plan.seconds, 10);
  assert.deepEqual(plan.changes, [
    { category: 'SimpleOutput', name: 'RecFormat2', value: 'mkv', previous: 'hybrid_mp4' },
  ]);
});
