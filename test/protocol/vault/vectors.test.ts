// Checks test/vectors/vault/endorsement.txt: a second implementation reading the same file must
// produce the same state encoding, stateHash and endorsement bytes (docs/PROTOCOL.md §13 "Test vectors").
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ChangeProof, EndorsementMessage, RecordState } from '../../../src/protocol/vault/record.ts';

const fields = Object.fromEntries(
  readFileSync(new URL('../../vectors/vault/endorsement.txt', import.meta.url), 'utf8')
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(': ') as [string, string]),
);
const hex = (name: string) => Uint8Array.from(Buffer.from(fields[name]!, 'hex'));
const big = (name: string) => BigInt(fields[name]!);

test('record state, stateHash and endorsement bytes match the committed vector', () => {
  assert.equal(fields.expect, 'success');
  const state = new RecordState({
    recordId: hex('recordId'),
    version: big('version'),
    incarnation: big('incarnation'),
    status: Number(fields.status),
    limit: Number(fields.limit),
    guessesLeft: Number(fields.guessesLeft),
    lastSuccess: big('lastSuccess'),
    ke1Hash: hex('ke1Hash'),
    ke1PaidAt: big('ke1PaidAt'),
    changeProof: new ChangeProof({
      fromIncarnation: big('changeProof.fromIncarnation'),
      fromVersion: big('changeProof.fromVersion'),
      contentHash: hex('changeProof.contentHash'),
      mac: hex('changeProof.mac'),
    }),
    sealed: hex('sealed'),
  });
  assert.equal(Buffer.from(state.serialize()).toString('hex'), fields.state);
  assert.deepEqual(RecordState.deserialize(hex('state')).serialize(), hex('state'));
  const stateHash = createHash('sha256').update(state.hashInput()).digest();
  assert.equal(stateHash.toString('hex'), fields.stateHash);
  const endorsement = new EndorsementMessage(
    hex('fleetId'),
    hex('recordId'),
    big('version'),
    stateHash,
  ).serialize();
  assert.equal(Buffer.from(endorsement).toString('hex'), fields.endorsement);
  assert.ok(Buffer.from(endorsement).toString('latin1').startsWith('strongroom/v1/endorse'));
});
