// src/listen-address.ts: the HOST:PORT form of every server command.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UsageError } from '../src/errors.ts';
import { parseListenAddress } from '../src/listen-address.ts';

test('splits host names, IPv4 and bracketed IPv6 addresses from their port', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:8470', 'hint'), { host: '127.0.0.1', port: 8470 });
  assert.deepEqual(parseListenAddress('localhost:0', 'hint'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListenAddress('[::1]:65535', 'hint'), { host: '::1', port: 65535 });
});

test('refuses what is not HOST:PORT with a usage error that quotes it and carries the hint', () => {
  for (const bad of ['', 'localhost', ':80', 'host:', 'host:65536', 'host:123456', '::1:80', 'a b:80']) {
    assert.throws(
      () => parseListenAddress(bad, 'try 127.0.0.1:8470'),
      (error: unknown) =>
        error instanceof UsageError &&
        error.message === `listen address ${JSON.stringify(bad)} is not HOST:PORT` &&
        error.hints[0] === 'try 127.0.0.1:8470',
      bad,
    );
  }
});
