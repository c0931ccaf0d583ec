// Record store URLs (src/stores/record/index.ts): what each form opens, and malformed URLs refused
// with a UsageError that says what was expected.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UsageError } from '../../../src/errors.ts';
import { parseRecordStoreUrl } from '../../../src/stores/record/index.ts';

describe('record store URL', () => {
  it('reads SQLite paths with or without the sqlite: scheme', () => {
    assert.deepEqual(parseRecordStoreUrl('sqlite:/var/lib/sr/records.sqlite'), {
      kind: 'sqlite',
      path: '/var/lib/sr/records.sqlite',
    });
    assert.deepEqual(parseRecordStoreUrl('records.sqlite'), { kind: 'sqlite', path: 'records.sqlite' });
  });

  it('reads etcd endpoints and an optional prefix, always ending the prefix with a slash', () => {
    assert.deepEqual(parseRecordStoreUrl('etcd://127.0.0.1:2379'), {
      kind: 'etcd',
      hosts: ['127.0.0.1:2379'],
    });
    assert.deepEqual(parseRecordStoreUrl('etcd://a.example:2379,b.example:2379/fleet-1'), {
      kind: 'etcd',
      hosts: ['a.example:2379', 'b.example:2379'],
      prefix: 'fleet-1/',
    });
    assert.deepEqual(parseRecordStoreUrl('etcd://[::1]:2379/p/'), {
      kind: 'etcd',
      hosts: ['[::1]:2379'],
      prefix: 'p/',
    });
  });

  it('refuses malformed URLs with a usage error', () => {
    for (const url of [
      '',
      'sqlite:',
      'etcd://',
      'etcd://host',
      'etcd://host:port',
      'etcd://a:1,,b',
      'http://x:1',
    ]) {
      assert.throws(() => parseRecordStoreUrl(url), UsageError, url);
    }
  });
});
