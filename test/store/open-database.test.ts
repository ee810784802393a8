import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { openDatabase, type Migration } from '../../src/store/index.js';
import { tempDir } from '../helpers/temp-dir.js';

test('migrations run once, in order, and survive reopening', async (t) => {
  const file = path.join(await tempDir(t), 'nested', 'test.db');
  const v1: Migration = {
    version: 1,
    description: 'items',
    up: (db) => db.exec('CREATE TABLE items (id TEXT)'),
  };
  const v2: Migration = {
    version: 2,
    description: 'size',
    up: (db) => db.exec('ALTER TABLE items ADD size INTEGER'),
  };

  const first = openDatabase(file, [v1]);
  assert.equal(first.pragma('journal_mode', { simple: true }), 'wal');
  first.prepare('INSERT INTO items (id) VALUES (?)').run('a');
  first.close();

  const second = openDatabase(file, [v2, v1]);
  assert.equal(second.pragma('user_version', { simple: true }), 2);
  second.prepare('UPDATE items SET size = 3').run();
  assert.deepEqual(second.prepare('SELECT id, size FROM items').all(), [{ id: 'a', size: 3 }]);
  second.close();
});

test('a failed migration leaves the schema at the last good version', async (t) => {
  const file = path.join(await tempDir(t), 'test.db');
  const good: Migration = { version: 1, description: 'ok', up: (db) => db.exec('CREATE TABLE a (x)') };
  const bad: Migration = {
    version: 2,
    description: 'bad',
    up: (db) => {
      db.exec('CREATE TABLE b (y)');
      throw new Error('boom');
    },
  };
  assert.throws(() => openDatabase(file, [good, bad]), /boom/);
  const db = openDatabase(file, [good]);
  assert.equal(db.pragma('user_version', { simple: true }), 1);
  assert.equal(db.prepare("SELECT name FROM sqlite_master WHERE name = 'b'").get(), undefined);
  db.close();
});

test('a database newer than the program is refused rather than corrupted', async (t) => {
  const file = path.join(await tempDir(t), 'test.db');
  const m: Migration = { version: 1, description: 'a', up: (db) => db.exec('CREATE TABLE a (x)') };
  openDatabase(file, [m]).close();
  assert.throws(() => openDatabase(file, []), /newer than this program/);
});
