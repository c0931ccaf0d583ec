// Writes the backup stream test vectors of docs/FORMAT.md "Test vectors" into this directory:
//   node --import tsx test/vectors/format/generate.ts
// Each file is a short text header — `expect:` (success | wrong key | damaged header |
// damaged chunk | truncated), `key:`, `payload:` (SHA-256 of the plaintext, for success),
// `comment:` — then an empty line, then the raw stream bytes (the layout of age's testkit).
// The vectors are committed; test/format/vectors.test.ts checks them against both crypto
// implementations. Regenerating must give the same bytes (salts are fixed here).
import { createHash } from 'node:crypto';
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeCrypto } from '../../../src/client/node/node-crypto.ts';
import { BackupKey } from '../../../src/format/key.ts';
import { encryptStream } from '../../../src/format/stream.ts';

const dir = fileURLToPath(new URL('.', import.meta.url));
const CHUNK = 1024;
const HEADER = 93;
const SEALED = CHUNK + 16;

const bytesFrom = (label: string, length: number): Uint8Array => {
  const out = new Uint8Array(length);
  for (let offset = 0, i = 0; offset < length; i++) {
    const block = createHash('sha256').update(`${label}/${i}`).digest();
    out.set(block.subarray(0, Math.min(32, length - offset)), offset);
    offset += 32;
  }
  return out;
};

const key = new BackupKey(bytesFrom('strongroom test vector key', 32));
const otherKey = new BackupKey(bytesFrom('strongroom test vector other key', 32));
// Each vector stream has its own salt, as real backups do: no two share a stream key.
const salt = (label: string) => bytesFrom(`salt ${label}`, 32);

async function encrypt(payload: Uint8Array, saltLabel: string): Promise<Uint8Array> {
  async function* once() {
    yield payload;
  }
  const parts: Uint8Array[] = [];
  for await (const part of encryptStream(once(), key, {
    crypto: nodeCrypto,
    chunkSize: CHUNK,
    salt: salt(saltLabel),
  }))
    parts.push(part);
  return Buffer.concat(parts);
}

const flip = (stream: Uint8Array, offset: number, mask = 0x01): Uint8Array => {
  const out = Uint8Array.from(stream);
  out[offset]! ^= mask;
  return out;
};
const chunk = (stream: Uint8Array, i: number) =>
  stream.subarray(HEADER + i * SEALED, HEADER + (i + 1) * SEALED);
const concat = (...parts: Uint8Array[]) => Buffer.concat(parts);

function write(
  name: string,
  expect: string,
  stream: Uint8Array,
  comment: string,
  payload?: Uint8Array,
  withKey = key,
) {
  const lines = [`expect: ${expect}`, `key: ${withKey.format()}`];
  if (payload !== undefined) lines.push(`payload: ${createHash('sha256').update(payload).digest('hex')}`);
  lines.push(`comment: ${comment}`, '', '');
  writeFileSync(`${dir}/${name}`, concat(Buffer.from(lines.join('\n')), stream));
}

for (const name of readdirSync(dir)) if (!name.includes('.')) rmSync(`${dir}/${name}`);

const empty = new Uint8Array(0);
const three = bytesFrom('payload', 3000); // chunks of 1024, 1024, 952
const exact = bytesFrom('payload', 2048); // two full chunks, the last one full
const streamEmpty = await encrypt(empty, 'empty');
const streamThree = await encrypt(three, 'three');
const streamExact = await encrypt(exact, 'exact');
const streamOther = await encrypt(bytesFrom('other payload', 3000), 'other');

write('empty', 'success', streamEmpty, 'empty payload: one empty final chunk', empty);
write(
  'one_byte',
  'success',
  await encrypt(Uint8Array.of(0x61), 'one byte'),
  'payload "a"',
  Uint8Array.of(0x61),
);
write(
  'one_chunk',
  'success',
  await encrypt(bytesFrom('payload', CHUNK), 'one chunk'),
  'exactly one full chunk, final',
  bytesFrom('payload', CHUNK),
);
write('three_chunks', 'success', streamThree, '3000 bytes: two full chunks and a final one of 952', three);
write('full_final_chunk', 'success', streamExact, '2048 bytes: the final chunk is full', exact);

write('wrong_key', 'wrong key', streamThree, 'three_chunks opened with another key', undefined, otherKey);
write(
  'header_salt_edited',
  'wrong key',
  flip(streamThree, 13),
  'a salt bit flipped: the key-check value no longer matches',
);
write('header_key_check_edited', 'wrong key', flip(streamThree, 45), 'a key-check bit flipped');
write('header_magic_edited', 'damaged header', flip(streamThree, 0), 'first magic byte changed');
write('header_version_edited', 'damaged header', flip(streamThree, 8, 0x02), 'version 3');
write(
  'header_chunk_size_edited',
  'damaged header',
  flip(streamThree, 11, 0x08),
  'chunk size 3072, not a power of two',
);
write(
  'header_chunk_size_valid_edited',
  'damaged header',
  flip(streamThree, 11, 0x0c),
  'chunk size 2048, an allowed size: the MAC catches it',
);
write('header_mac_edited', 'damaged header', flip(streamThree, 92), 'last MAC bit flipped');
write('header_cut', 'truncated', streamThree.subarray(0, 60), 'the stream ends inside the header');

write(
  'chunk_edited',
  'damaged chunk',
  flip(streamThree, HEADER + SEALED + 5),
  'a ciphertext bit of chunk 1 flipped',
);
write('tag_edited', 'damaged chunk', flip(streamThree, HEADER + SEALED - 1), 'a tag bit of chunk 0 flipped');
write(
  'chunks_swapped',
  'damaged chunk',
  concat(
    streamThree.subarray(0, HEADER),
    chunk(streamThree, 1),
    chunk(streamThree, 0),
    streamThree.subarray(HEADER + 2 * SEALED),
  ),
  'chunks 0 and 1 swapped',
);
write(
  'chunk_duplicated',
  'damaged chunk',
  concat(
    streamThree.subarray(0, HEADER + SEALED),
    chunk(streamThree, 0),
    streamThree.subarray(HEADER + SEALED),
  ),
  'chunk 0 repeated',
);
write(
  'spliced',
  'damaged chunk',
  concat(
    streamThree.subarray(0, HEADER + SEALED),
    chunk(streamOther, 1),
    streamThree.subarray(HEADER + 2 * SEALED),
  ),
  'chunk 1 taken from another backup made with the same key',
);
write(
  'spliced_header',
  'damaged chunk',
  concat(streamOther.subarray(0, HEADER), streamThree.subarray(HEADER)),
  'header of another backup made with the same key, chunks of this one',
);
write(
  'appended_byte',
  'damaged chunk',
  concat(streamThree, Uint8Array.of(0)),
  'one byte appended after the final chunk',
);
write(
  'appended_chunk',
  'damaged chunk',
  concat(streamExact, chunk(streamExact, 0)),
  'a full chunk appended after a full final chunk',
);
write(
  'final_chunk_dropped',
  'truncated',
  streamThree.subarray(0, HEADER + 2 * SEALED),
  'the final chunk removed: chunk 1 ends the stream without the final flag',
);
write('chunks_all_dropped', 'truncated', streamThree.subarray(0, HEADER), 'only the header');
write(
  'empty_final_chunk_added',
  'damaged chunk',
  concat(streamExact.subarray(0, HEADER + SEALED), streamEmpty.subarray(HEADER)),
  'an empty final chunk after a full chunk, sealed for another position',
);
