import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { test } from 'node:test';
import { call, eventually } from '../helpers/station.js';
import { freePort } from '../helpers/station-process.js';
import { startLegacyServer } from '../uploads/legacy-server.js';
import { stationOnSmallDisk } from './tmpfs.js';

interface Rec {
  id: string;
  state: string;
  fileName: string;
  upload: { state: string } | null;
}

async function recordOnce(url: string, name: string): Promise<string> {
  const started = await call(`${url}/api/recording/start`, { method: 'POST', json: { sessionName: name } });
  assert.equal(started.status, 200, JSON.stringify(started.body));
  await new Promise((resolve) => setTimeout(resolve, 1500));
  assert.equal((await call(`${url}/api/recording/stop`, { method: 'POST' })).status, 200);
  return (started.body.recording as { id: string }).id;
}

const uploadState = async (url: string, id: string, wanted: string): Promise<Rec> =>
  eventually(
    async () => {
      const r = (await call(`${url}/api/recordings/${id}`)).body.recording as Rec;
      return r.upload?.state === wanted ? r : undefined;
    },
    90_000,
    `upload ${wanted}`,
  );

test('max-gb deletes a recording once the server confirmed its sha256, and the metadata and API say why', async (t) => {
  const { url, disk } = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDINGS_RETENTION: 'max-gb:0.000001', // 1000 bytes: every confirmed recording is over it
    RECORDING_MIN_FREE_BYTES: '1MiB',
  }));
  const recordings = path.join(disk, 'recordings');
  const id = await recordOnce(url, 'Cleaned');
  const rec = await uploadState(url, id, 'completed');
  const file = path.join(recordings, 'Cleaned', rec.fileName);

  const retention = await eventually(
    async () => {
      const r = await call(`${url}/api/retention`);
      return (r.body.deleted as unknown[]).length > 0 ? r.body : undefined;
    },
    30_000,
    'the deletion',
  );
  assert.equal(retention.policy, 'max-gb:0.000001');
  const [deleted] = retention.deleted as Array<{ recording_id: string; reason: string; sha256: string }>;
  assert.equal(deleted?.recording_id, id);
  // Recorded in parts (RECORDING_SEGMENT_SECONDS' default): every part's sha256 was confirmed.
  assert.match(
    deleted!.reason,
    /max-gb:0\.000001: .*(sha256 [0-9a-f]{12}…|parts?, (each|its) sha256) confirmed by the server/,
  );
  await assert.rejects(access(file), { code: 'ENOENT' });
  const video = await call(`${url}/api/recordings/${id}/video`);
  assert.equal(video.status, 404);
  assert.equal((video.body.error as { code: string }).code, 'FILE_NOT_FOUND');
  assert.match(
    (video.body.error as { message: string }).message,
    /was deleted \(RECORDINGS_RETENTION=max-gb/,
  );
  const metadata = await eventually(
    async () => {
      const m = JSON.parse(
        await readFile(path.join(recordings, 'Cleaned', 'session_metadata.json'), 'utf8'),
      ) as {
        local_files_deleted?: Array<{ recording_id: string; reason: string }>;
      };
      return m.local_files_deleted ? m : undefined;
    },
    10_000,
    'the metadata to list the deletion',
  );
  assert.equal(metadata.local_files_deleted?.[0]?.recording_id, id);
});

test('a recording whose upload failed is never deleted, and the plan says why it is kept', async (t) => {
  const deadPort = await freePort();
  const { url, disk } = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDINGS_RETENTION: 'max-gb:0.000001',
    RECORDING_MIN_FREE_BYTES: '1MiB',
    VULTR_API_URL: `http://127.0.0.1:${deadPort}`, // nobody listens: the upload fails
    VULTR_UPLOAD_RETRIES: '0',
  }));
  const recordings = path.join(disk, 'recordings');
  const id = await recordOnce(url, 'Kept');
  const rec = await uploadState(url, id, 'failed');
  const plan = await call(`${url}/api/retention`);
  assert.deepEqual(plan.body.deleted, []);
  const kept = plan.body.kept as Array<{ recording_id: string; why: string }>;
  assert.deepEqual(kept, [{ recording_id: id, file_name: rec.fileName, why: 'upload failed' }]);
  await access(path.join(recordings, 'Kept', rec.fileName));
});

test('a recording accepted by a server that reported no checksum is kept: its sha256 was never confirmed', async (t) => {
  const legacy = await startLegacyServer(t);
  const { url, disk } = await stationOnSmallDisk(t, (disk) => ({
    RECORDINGS_PATH: path.join(disk, 'recordings'),
    RECORDINGS_RETENTION: 'max-gb:0.000001',
    RECORDING_MIN_FREE_BYTES: '1MiB',
    VULTR_API_URL: legacy.url,
  }));
  const id = await recordOnce(url, 'Legacy');
  const rec = await uploadState(url, id, 'completed');
  assert.equal(legacy.uploads.length, 1, 'the old server got the file');
  const plan = await call(`${url}/api/retention`);
  assert.deepEqual(plan.body.deleted, []);
  assert.deepEqual(plan.body.kept, [
    { recording_id: id, file_name: rec.fileName, why: 'server did not confirm the sha256' },
  ]);
  await access(path.join(disk, 'recordings', 'Legacy', rec.fileName));
});
