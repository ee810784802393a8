import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StationClient } from '../../src/api/index.js';
import { isAppError } from '../../src/errors/index.js';
import { launchChromium } from '../helpers/browser.js';
import { call, startStation } from '../helpers/station.js';

type Json = Record<string, unknown>;

/** Routes whose success body is not JSON (files, the event stream). */
const NOT_JSON = new Set([
  'get /api/events',
  'get /api/recordings/{id}/video',
  'get /api/recordings/{id}/thumbnail',
  'get /api/recordings/{id}/download',
  'get /api/vultr/upload/{task_id}/outputs/{name}',
]);

test('OpenAPI documents every JSON response body, and answers are serialized by those schemas', async (t) => {
  const { url, server } = await startStation(t, { VULTR_AUTO_UPLOAD: 'false' });
  const openapi = (await call(`${url}/api/openapi.json`)).body;
  const paths = openapi.paths as Record<string, Record<string, Json>>;
  let documented = 0;
  for (const [route, methods] of Object.entries(paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      const responses = operation.responses as Record<string, Json>;
      const key = `${method} ${route}`;
      const error = responses['4XX'] ?? responses['4xx'];
      assert.ok(error, `${key} documents its error body`);
      if (NOT_JSON.has(key)) continue;
      const ok = Object.entries(responses).find(([status]) => status.startsWith('2'));
      assert.ok(ok, `${key} documents its success body`);
      const schema = ((ok[1].content as Json | undefined)?.['application/json'] as Json | undefined)
        ?.schema as Json | undefined;
      assert.ok(schema && (schema.properties || schema.$ref), `${key}: a JSON schema with properties`);
      documented += 1;
    }
  }
  assert.ok(documented >= 13, `${documented} JSON answers documented`);

  // Serialization follows the contract: a field the contract does not name never leaves.
  const original = server.station.status.bind(server.station);
  server.station.status = () =>
    ({ ...original(), internal: 'not on the wire' }) as ReturnType<typeof original>;
  const status = await call(`${url}/api/status`);
  assert.equal(status.status, 200);
  assert.equal('internal' in status.body, false);
  assert.equal(typeof (status.body.recorder as Json).kind, 'string');
});

test('/api/docs is a real API viewer, served offline from the package’s own files', async (t) => {
  const { url } = await startStation(t);
  const browser = await launchChromium(t);
  const page = await browser.newPage();
  const elsewhere: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(url) && !request.url().startsWith('data:')) elsewhere.push(request.url());
  });
  await page.goto(`${url}/api/docs`);
  await page
    .locator('.swagger-ui .opblock-summary-path', { hasText: '/api/vultr/upload/status/{task_id}' })
    .first()
    .waitFor({ timeout: 30_000 });
  assert.deepEqual(elsewhere, [], 'nothing loaded from elsewhere');
  await browser.close();
});

test('the CLI checks a station’s answer against the contract and says when it does not fit', async (t) => {
  const fake = createServer((_request, response) => {
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ success: true, version: '0.0.1', recorder: { kind: 'vhs' } }));
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => fake.close(() => resolve())));
  const client = new StationClient(
    `http://127.0.0.1:${(fake.address() as AddressInfo).port}`,
    undefined,
    5000,
  );
  await assert.rejects(client.status(), (error: unknown) => {
    assert.ok(isAppError(error));
    assert.equal(error.code, 'SERVER_ERROR');
    assert.match(error.message, /answered \/api\/status with an unexpected body \(\/\w+: .*another version/);
    return true;
  });
});
