// Checks the committed backup stream vectors (test/vectors/format/, made by generate.ts there; format
// in docs/FORMAT.md "Test vectors") against every FormatCrypto implementation: each vector's stream
// must open to its payload hash, or fail with exactly the outcome its `expect:` line names.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nodeCrypto } from '../../src/client/node/node-crypto.ts';
import { createWorkerCrypto } from '../../src/client/node/worker-crypto.ts';
import { DamagedBackupError, WrongKeyError } from '../../src/errors.ts';
import { HEADER_LENGTH, Header } from '../../src/format/header.ts';
import { BackupKey } from '../../src/format/key.ts';
import { decryptStream } from '../../src/format/stream.ts';
import { webCrypto } from '../../src/format/webcrypto.ts';

const dir = fileURLToPath(new URL('../vectors/format/', import.meta.url));
const EXPECTATIONS = ['success', 'wrong key', 'damaged header', 'damaged chunk', 'truncated'] as const;

interface Vector {
  name: string;
  expect: (typeof EXPECTATIONS)[number];
  key: BackupKey;
  payload?: string;
  stream: Uint8Array;
}

function parseVector(name: string): Vector {
  const file = readFileSync(`${dir}/${name}`);
  const end = file.indexOf('\n\n');
  assert.ok(end > 0, `${name}: no blank line after the header`);
  const fields = new Map(
    file
      .subarray(0, end)
      .toString('utf8')
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)] as const),
  );
  const expect = fields.get('expect') as Vector['expect'];
  assert.ok(EXPECTATIONS.includes(expect), `${name}: unknown expect ${expect}`);
  return {
    name,
    expect,
    key: BackupKey.parse(fields.get('key')!),
    payload: fields.get('payload'),
    stream: file.subarray(end + 2),
  };
}

const vectors = readdirSync(dir)
  .filter((name) => !name.includes('.'))
  .map(parseVector);

async function outcome(vector: Vector, crypto: typeof webCrypto): Promise<string> {
  async function* once() {
    yield vector.stream;
  }
  const hash = createHash('sha256');
  try {
    for await (const piece of decryptStream(once(), vector.key, { crypto })) hash.update(piece);
  } catch (error) {
    if (error instanceof WrongKeyError) return 'wrong key';
    if (!(error instanceof DamagedBackupError)) throw error;
    if (/truncated/.test(error.message)) return 'truncated';
    if (/header|not a Strongroom backup/.test(error.message)) return 'damaged header';
    if (/^chunk \d+ failed/.test(error.message)) return 'damaged chunk';
    throw error;
  }
  return `success ${hash.digest('hex')}`;
}

const workerCrypto = createWorkerCrypto(2);

describe('backup stream test vectors', () => {
  after(() => workerCrypto.close());

  it('cover every expected outcome', () => {
    assert.ok(vectors.length >= 20);
    for (const expect of EXPECTATIONS)
      assert.ok(
        vectors.some((v) => v.expect === expect),
        expect,
      );
  });

  for (const [label, crypto] of [
    ['node:crypto', nodeCrypto],
    ['WebCrypto', webCrypto],
    ['worker threads', workerCrypto],
  ] as const) {
    for (const vector of vectors) {
      it(`${vector.name}: ${vector.expect} (${label})`, async () => {
        const expected = vector.expect === 'success' ? `success ${vector.payload}` : vector.expect;
        assert.equal(await outcome(vector, crypto), expected);
      });
    }
  }

  it('re-encoding a parsed header gives the same bytes', () => {
    for (const vector of vectors.filter((v) => v.expect === 'success')) {
      const bytes = vector.stream.subarray(0, HEADER_LENGTH);
      assert.deepEqual(Header.deserialize(bytes).serialize(), new Uint8Array(bytes));
    }
  });
});
