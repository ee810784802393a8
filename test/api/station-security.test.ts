import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { StationServer } from '../../src/api/index.js';
import { loadConfig } from '../../src/config/index.js';
import { AppError } from '../../src/errors/index.js';
import { silentLogger } from '../../src/logging/index.js';
import { call, startStation } from '../helpers/station.js';
import { tempDir } from '../helpers/temp-dir.js';

type Json = Record<string, unknown>;

/** A raw request, so that the Host header can be anything (fetch does not allow setting it). */
function rawGet(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a page on another site cannot start a recording', async (t) => {
  const { url } = await startStation(t);
  const fromElsewhere = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'csrf' },
    headers: { origin: 'http://evil.example', 'sec-fetch-site': 'cross-site' },
  });
  assert.equal(fromElsewhere.status, 403);
  assert.equal((fromElsewhere.body.error as Json).code, 'CROSS_SITE_REQUEST');
  const originOnly = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'csrf' },
    headers: { origin: 'http://evil.example' },
  });
  assert.equal(originOnly.status, 403);
  const status = await call(`${url}/api/status`);
  assert.equal((status.body.recorder as Json).recording, false, 'nothing was started');
  assert.equal(status.headers.get('access-control-allow-origin'), null, 'no CORS header, let alone *');

  // Same-origin requests from the page itself are served.
  const sameOrigin = await call(`${url}/api/recording/start`, {
    method: 'POST',
    json: { sessionName: 'mine' },
    headers: { origin: url, 'sec-fetch-site': 'same-origin' },
  });
  assert.equal(sameOrigin.status, 200, JSON.stringify(sameOrigin.body));
  await call(`${url}/api/recording/stop`, { method: 'POST', json: {} });
});

test('bound to loopback, a request for another host name (DNS rebinding) is refused', async (t) => {
  const { url } = await startStation(t);
  assert.equal(await rawGet(`${url}/api/status`, 'evil.example'), 403);
  assert.equal(await rawGet(`${url}/api/status`, `localhost:${new URL(url).port}`), 200);
});

test('bound beyond loopback it refuses to start without a token, and then requires it', async (t) => {
  const dir = await tempDir(t);
  const config = loadConfig({
    env: {
      RECORDINGS_PATH: `${dir}/r`,
      STREAMAI_DATA_DIR: `${dir}/d`,
      INGEST_DATA_DIR: `${dir}/i`,
      STREAMAI_LOG_FILE: `${dir}/l.log`,
    },
    envFile: false,
  });
  const exposed = new StationServer({ config, logger: silentLogger(), host: '0.0.0.0', port: 0 });
  await assert.rejects(
    exposed.start(),
    (error: unknown) =>
      error instanceof AppError &&
      error.code === 'CONFIG_INVALID' &&
      /STREAMAI_API_TOKEN/.test(error.message),
  );

  const { url } = await startStation(t, { STREAMAI_API_TOKEN: 'letmein-0123456789' }, { host: '0.0.0.0' });
  const local = url.replace('0.0.0.0', '127.0.0.1');
  const anonymous = await call(`${local}/api/status`);
  assert.equal(anonymous.status, 401);
  assert.equal((anonymous.body.error as Json).code, 'UNAUTHORIZED');
  const wrong = await call(`${local}/api/status`, { headers: { authorization: 'Bearer nope' } });
  assert.equal(wrong.status, 401);
  const right = await call(`${local}/api/status`, {
    headers: { authorization: 'Bearer letmein-0123456789' },
  });
  assert.equal(right.status, 200);

  // The page trades the token for an HttpOnly SameSite=Strict cookie.
  const badLogin = await call(`${local}/api/login`, { method: 'POST', json: { token: 'guess' } });
  assert.equal(badLogin.status, 401);
  const login = await call(`${local}/api/login`, { method: 'POST', json: { token: 'letmein-0123456789' } });
  assert.equal(login.status, 200);
  const cookie = login.headers.get('set-cookie') ?? '';
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Strict/);
  const withCookie = await call(`${local}/api/status`, { headers: { cookie: cookie.split(';')[0]! } });
  assert.equal(withCookie.status, 200);
  // The page itself loads without the token (it shows the sign-in form).
  const page = await fetch(`${local}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /StreamAI/);
});

test('the embedded ingest server listens on loopback and accepts only the station’s own random key', async (t) => {
  const { server } = await startStation(t, { VULTR_AUTO_UPLOAD: 'false' });
  const { url, embedded } = server.station.vultr;
  assert.equal(embedded, true);
  assert.equal(new URL(url).hostname, '127.0.0.1');
  // Another program on this machine (or a page the user visits) knows no key: refused.
  const anonymous = await call(`${url}/uploads`);
  assert.equal(anonymous.status, 401, JSON.stringify(anonymous.body));
  assert.equal((anonymous.body.error as Json).code, 'UNAUTHORIZED');
  const tusCreate = await call(`${url}/files`, {
    method: 'POST',
    headers: { 'tus-resumable': '1.0.0', 'upload-length': '10' },
  });
  assert.equal(tusCreate.status, 401);
  // The station itself gets through: its connection test passes, auth included.
  const checks = await server.station.testConnection();
  assert.ok(
    checks.every((c) => c.ok),
    JSON.stringify(checks),
  );
});
