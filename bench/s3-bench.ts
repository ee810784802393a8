/**
 * `npm run bench:s3`: `streamai upload` (UPLOAD_TARGET=s3) against `rclone copy`, into the same
 * local Swift (s3api) bucket, in one run.
 *
 * Compiles the sources with tsc into a private folder and runs the CLI with plain node (as
 * `npx streamai` runs). Writes a 1 GiB file (BENCH_S3_BYTES) — a real one-second clip followed
 * by random bytes, so validation passes and nothing compresses — and uploads it with each
 * client BENCH_S3_RUNS times (default 2), interleaved; best wall time and highest peak RSS
 * (`/usr/bin/time -f %M`) kept. Both clients hash the whole file before sending (streamai its
 * sha256 and its parts' MD5s in one read, rclone its MD5 for x-amz-meta-md5chksum) and use multipart uploads with Content-MD5
 * per part: streamai one 64 MiB part at a time (VULTR_UPLOAD_CHUNK_SIZE), rclone its defaults
 * (5 MiB parts, 4 at a time), and once more cut like streamai (64 MiB, one at a time). Every
 * object is deleted after its run so the disk holds one copy.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { digestFile, planParts } from '../src/object-storage/index.js';
import { openDatabase, stationMigrations, UploadTaskRepository } from '../src/store/index.js';
import { startSwiftS3 } from '../test/helpers/swift-s3.js';
import { makeBigClip } from '../test/uploads/upload-fixtures.js';

const exec = promisify(execFile);
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BYTES = Number(process.env['BENCH_S3_BYTES'] ?? 1024 ** 3);
const RUNS = Number(process.env['BENCH_S3_RUNS'] ?? 2);

/** The CLI compiled by tsc into `dir` (package.json and node_modules linked beside it). */
async function compileCli(dir: string): Promise<string> {
  await copyFile(path.join(root, 'package.json'), path.join(dir, 'package.json'));
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const outDir = path.join(dir, 'dist');
  // Emits even when another part of a shared tree has a type error.
  await exec(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json'), '--outDir', outDir]).catch(
    () => undefined,
  );
  return path.join(outDir, 'cli', 'main.js');
}

/** Runs a client under `/usr/bin/time -f %M`: wall seconds, peak RSS (MiB), stdout. */
async function timed(
  command: string,
  args: string[],
  env: Record<string, string>,
  work: string,
): Promise<{ seconds: number; rssMiB: number; stdout: string }> {
  const rssFile = path.join(work, 'rss.txt');
  const started = performance.now();
  // A minimal environment: no AWS_* or proxy settings of this machine reach either client.
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', rssFile, command, ...args], {
    cwd: work,
    env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: work, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const seconds = (performance.now() - started) / 1000;
  if (code !== 0) throw new Error(`${command} exited with ${code}: ${stderr.slice(-2000)}`);
  const kib = Number((await readFile(rssFile, 'utf8')).trim().split('\n').pop());
  return { seconds, rssMiB: kib / 1024, stdout };
}

/** Seconds from `uploading` to `completed` in the task's history (after validation and hashing). */
function transferSeconds(dataDir: string, taskId: string): number {
  const db = openDatabase(path.join(dataDir, 'streamai.db'), stationMigrations);
  try {
    const events = new UploadTaskRepository(db).events(taskId);
    const from = events.find((e) => e.state === 'uploading')?.at;
    const to = events.find((e) => e.state === 'completed')?.at;
    if (!from || !to) throw new Error(`${taskId} did not complete`);
    return (Date.parse(to) - Date.parse(from)) / 1000;
  } finally {
    db.close();
  }
}

/**
 * The two ways to get x-amz-meta-sha256 onto the object (docs/ARCHITECTURE.md, "One hash pass"):
 * (b, what streamai does) one read of the file before the first part, sha256 and every part's
 * MD5 together; (a) hash while sending and set the metadata afterwards with a CopyObject of the
 * object onto itself (MetadataDirective REPLACE). Both timed here on the same file and object.
 */
async function digestChoice(
  client: S3Client,
  bucket: string,
  key: string,
  file: string,
): Promise<{ hashPass: number; copy: number }> {
  let started = performance.now();
  await digestFile(file, BYTES, planParts(BYTES, 64 * 1024 * 1024));
  const hashPass = (performance.now() - started) / 1000;
  started = performance.now();
  await client.send(
    new CopyObjectCommand({
      Bucket: bucket,
      Key: key,
      CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`,
      MetadataDirective: 'REPLACE',
      Metadata: { sha256: '0'.repeat(64) },
    }),
  );
  return { hashPass, copy: (performance.now() - started) / 1000 };
}

interface Best {
  seconds: number;
  transfer?: number;
  rssMiB: number;
}

function keep(best: Best | undefined, run: Best): Best {
  if (!best) return run;
  return {
    seconds: Math.min(best.seconds, run.seconds),
    ...(run.transfer !== undefined ? { transfer: Math.min(best.transfer ?? Infinity, run.transfer) } : {}),
    rssMiB: Math.max(best.rssMiB, run.rssMiB),
  };
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(tmpdir(), 'streamai-bench-s3-'));
  const swift = await startSwiftS3();
  const client = swift.client();
  try {
    console.log(`work folder ${work}; Swift at ${swift.endpoint}; compiling…`);
    const cli = await compileCli(work);
    const file = path.join(work, 'recording.mkv');
    await makeBigClip(file, BYTES);
    const bucket = await swift.createBucket('bench');
    const rcloneEnv = {
      RCLONE_CONFIG_SWIFT_TYPE: 's3',
      RCLONE_CONFIG_SWIFT_PROVIDER: 'Other',
      RCLONE_CONFIG_SWIFT_ENDPOINT: swift.endpoint,
      RCLONE_CONFIG_SWIFT_REGION: 'us-east-1',
      RCLONE_CONFIG_SWIFT_ACCESS_KEY_ID: swift.accessKeyId,
      RCLONE_CONFIG_SWIFT_SECRET_ACCESS_KEY: swift.secretAccessKey,
      RCLONE_CONFIG_SWIFT_FORCE_PATH_STYLE: 'true',
    };
    const remove = async (key: string): Promise<void> => {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (head.ContentLength !== BYTES)
        throw new Error(`${key} holds ${head.ContentLength} bytes, not ${BYTES}`);
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    };
    let streamai: Best | undefined;
    let rclone: Best | undefined;
    let rcloneAlike: Best | undefined;
    let hashPass = Infinity;
    let copy = Infinity;
    for (let i = 0; i < RUNS; i += 1) {
      const dataDir = path.join(work, `station-${i}`);
      const ours = await timed(process.execPath, [cli, 'upload', file, '--no-process'], {
        ...swift.env(bucket),
        STREAMAI_DATA_DIR: dataDir,
        STREAMAI_LOG_FILE: path.join(work, 'streamai.log'),
      }, work); // prettier-ignore
      const taskId = ours.stdout.trim().split('\n')[0] ?? '';
      const transfer = transferSeconds(dataDir, taskId);
      const choice = await digestChoice(client, bucket, `recordings/${taskId}/recording.mkv`, file);
      hashPass = Math.min(hashPass, choice.hashPass);
      copy = Math.min(copy, choice.copy);
      await remove(`recordings/${taskId}/recording.mkv`);
      await client.send(
        new DeleteObjectCommand({ Bucket: bucket, Key: `recordings/${taskId}/recording.mkv.manifest.json` }),
      );
      streamai = keep(streamai, { seconds: ours.seconds, transfer, rssMiB: ours.rssMiB });
      console.log(
        `run ${i + 1} streamai: ${ours.seconds.toFixed(1)} s (transfer ${transfer.toFixed(1)} s), ${ours.rssMiB.toFixed(1)} MiB`,
      );

      const theirs = await timed('rclone', ['copy', file, `swift:${bucket}/rclone/`], rcloneEnv, work);
      await remove('rclone/recording.mkv');
      rclone = keep(rclone, { seconds: theirs.seconds, rssMiB: theirs.rssMiB });
      console.log(`run ${i + 1} rclone:   ${theirs.seconds.toFixed(1)} s, ${theirs.rssMiB.toFixed(1)} MiB`);

      // rclone cut like streamai (64 MiB parts, one at a time): the protocol cost alone.
      const alike = await timed(
        'rclone',
        ['copy', file, `swift:${bucket}/alike/`, '--s3-chunk-size', '64M', '--s3-upload-concurrency', '1'],
        rcloneEnv,
        work,
      );
      await remove('alike/recording.mkv');
      rcloneAlike = keep(rcloneAlike, { seconds: alike.seconds, rssMiB: alike.rssMiB });
      console.log(`run ${i + 1} rclone 64M×1: ${alike.seconds.toFixed(1)} s, ${alike.rssMiB.toFixed(1)} MiB`);
    }
    if (!streamai || !rclone || !rcloneAlike) throw new Error('no runs');
    const mbps = (s: number): string => (BYTES / 1e6 / s).toFixed(1);
    console.log(`\n${(BYTES / 1024 ** 3).toFixed(2)} GiB into Swift s3api, best of ${RUNS}:`);
    console.log('| client | wall s | MB/s | peak RSS MiB |');
    console.log('|---|---:|---:|---:|');
    console.log(
      `| rclone copy | ${rclone.seconds.toFixed(1)} | ${mbps(rclone.seconds)} | ${rclone.rssMiB.toFixed(1)} |`,
    );
    console.log(
      `| rclone copy --s3-chunk-size 64M --s3-upload-concurrency 1 | ${rcloneAlike.seconds.toFixed(1)} | ${mbps(rcloneAlike.seconds)} | ${rcloneAlike.rssMiB.toFixed(1)} |`,
    );
    console.log(
      `| streamai upload | ${streamai.seconds.toFixed(1)} | ${mbps(streamai.seconds)} | ${streamai.rssMiB.toFixed(1)} |`,
    );
    console.log(
      `streamai / rclone throughput: ${(rclone.seconds / streamai.seconds).toFixed(2)}× (target ≥ 0.9×); streamai transfer alone (uploading → completed) ${streamai.transfer?.toFixed(1)} s = ${mbps(streamai.transfer ?? NaN)} MB/s`,
    );
    console.log(
      `x-amz-meta-sha256: one hash pass before the first part (chosen) ${hashPass.toFixed(1)} s; a CopyObject metadata update after completion instead ${copy.toFixed(1)} s (${(copy / hashPass).toFixed(1)}× the hash pass)`,
    );
  } finally {
    client.destroy();
    await swift.stop();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
