// src/realtime.d.ts declares what src/realtime.js has, no more and no less: the exports, the client's
// methods and properties, its options, the subscribe handlers and the events it emits. (That the
// declared types are usable, and strict, is checked by test/types-check.ts, which test.sh compiles.)
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import * as realtime from '../src/realtime.js';

const read = (file) => readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8');
const dts = read('realtime.d.ts');
const js = read('realtime.js');

// The names declared at the first level of `header { … }` in the .d.ts: `name(`, `name<`, `name:`,
// `name?:`, `readonly name:`, each on a line of its own at two spaces.
function declared(header) {
  const start = dts.indexOf(`${header} {`);
  assert.notEqual(start, -1, `${header} is in realtime.d.ts`);
  const body = dts.slice(start, dts.indexOf('\n}', start));
  const names = [...body.matchAll(/^ {2}(?:readonly )?([A-Za-z_$][\w$]*)\??\s*[(<:]/gm)].map((m) => m[1]);
  return sorted(names.filter((name) => name !== 'constructor'));
}

const sorted = (names) => [...new Set(names)].sort();
const matches = (source, pattern) => sorted([...source.matchAll(pattern)].map((m) => m[1]));

test('every export of realtime.js is declared, and every declared value is exported', () => {
  assert.deepEqual(sorted(Object.keys(realtime)), matches(dts, /^export (?:declare )?(?:class|function|const|let) (\w+)/gm));
});

test('every method and property of RealtimeClient is declared, and every declared one exists', () => {
  const client = new realtime.RealtimeClient('ws://localhost/ws', { WebSocket: class {}, token: 't' });
  const methods = Object.getOwnPropertyNames(realtime.RealtimeClient.prototype).filter((name) => name !== 'constructor');
  const actual = sorted([...methods, ...Object.keys(client)]);
  assert.ok(actual.includes('request') && actual.includes('state') && actual.includes('unread'), actual.join());
  assert.deepEqual(declared('export class RealtimeClient'), actual);
});

test('RealtimeError declares its code', () => {
  const error = new realtime.RealtimeError('timeout', 'no reply');
  assert.ok(error instanceof Error);
  assert.deepEqual([error.name, error.code, error.message], ['RealtimeError', 'timeout', 'no reply']);
  assert.deepEqual(declared('export class RealtimeError extends Error'), ['code']);
});

test('the options the constructor reads are the declared RealtimeOptions', () => {
  const destructured = js.match(/const \{ ([\w, ]+), \.\.\.rest \} = options;/);
  const defaults = js.match(/const DEFAULTS = \{\n([\s\S]*?)\n\};/);
  assert.ok(destructured && defaults, 'the constructor destructures options and merges DEFAULTS');
  const actual = sorted([...destructured[1].split(', '), ...matches(defaults[1], /^ {2}(\w+):/gm)]);
  assert.deepEqual(declared('export interface RealtimeOptions'), actual);
});

test('the subscribe handlers the client calls are the declared SubscribeOptions', () => {
  assert.deepEqual(declared('export interface SubscribeOptions'), sorted(['since', ...matches(js, /handlers\.(on\w+)/g)]));
});

test('the events the client emits are the declared RealtimeEvents', () => {
  assert.deepEqual(declared('export interface RealtimeEvents'), matches(js, /#emit\('(\w+)'/g));
});
