// The vault client (docs/PROTOCOL.md §10 "Flows"): enable, recover, change
// password, delete and status over a VaultTransport, with the fleet's public info pinned. The
// password never leaves this object; K leaves it only wrapped under OPAQUE's export_key.
import * as opaque from '@serenity-kit/opaque';
import {
  LockedError,
  NoRecordError,
  StrongroomError,
  TamperingError,
  UnavailableError,
  UsageError,
  WrongPasswordError,
} from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';
import type { FleetPublicInfo } from '../../protocol/fleet.ts';
import { bytesEqual, concat, fromBase64Url, toBase64Url, toHex } from '../../protocol/vault/bytes.ts';
import { VaultOp } from '../../protocol/vault/frames.ts';
import { Labels, RECORD_ID_MAX, RECORD_ID_MIN } from '../../protocol/vault/labels.ts';
import { RecordStatus } from '../../protocol/vault/record.ts';
import {
  DeleteRequest,
  LoginFinishRequest,
  LoginStartRequest,
  RegisterFinishRequest,
  RegisterStartRequest,
  RegistrationKind,
  StatusRequest,
} from '../../protocol/vault/requests.ts';
import {
  type OkResults,
  Outcome,
  type RecordSummary,
  Recovery,
  RefusalReason,
  type VaultResponse,
} from '../../protocol/vault/responses.ts';
import { changeContent, proofMessage } from '../../protocol/vault/sealed.ts';
import { exchange } from './channel.ts';
import {
  aesGcmOpen,
  aesGcmSeal,
  constantTimeEqual,
  hkdf,
  hmacSha256,
  randomBytes,
  sha256,
} from './crypto.ts';
import { InMemoryRecordMemory, type RecordMemory } from './memory.ts';
import type { VaultTransport } from './transport.ts';

/** Argon2id parameters fixed by docs/PROTOCOL.md "Key stretching": 64 MiB, 3 passes, 1 lane. */
export const DEFAULT_ARGON2ID = { memory: 65536, iterations: 3, parallelism: 1 } as const;

export interface Argon2idParameters {
  /** KiB. */
  readonly memory: number;
  readonly iterations: number;
  readonly parallelism: number;
}

export interface VaultClientOptions {
  /** The pinned `fleet.pub` (never learnt from the relay). */
  readonly fleet: FleetPublicInfo;
  readonly transport: VaultTransport;
  /** Per-record incarnation and highest version seen; in memory by default. */
  readonly memory?: RecordMemory;
  /** Argon2id parameters; every device of a user must use the same ones. Tests pass smaller ones. */
  readonly argon2id?: Argon2idParameters;
  /** How many times a flow restarts after another writer moved the record (stale). */
  readonly retries?: number;
}

/** A record's state as the vault certifies it (docs/PROTOCOL.md §6.2: RecordSummary status). */
export type VaultRecordState = 'active' | 'locked' | 'deleted';

/**
 * What the vault says of a record: advisory counters, never proof (docs/API.md "Vault results").
 * `version` and `incarnation` are the certified 64-bit counters; they grow by one per write, so they
 * stay below 2^53 and are plain numbers here.
 */
export interface VaultRecordStatus {
  readonly status: VaultRecordState;
  readonly limit: number;
  readonly guessesLeft: number;
  readonly version: number;
  readonly incarnation: number;
}

export interface RecoverOptions {
  /**
   * The user confirms the password was changed on another of their devices since this one last
   * saw the record. Without it, a record registered again since (another incarnation) is reported
   * as possible tampering before any guess is spent; with it the login goes ahead, and the new
   * incarnation is accepted only if its change proof verifies under the recovered K
   * (docs/PROTOCOL.md §10 "Recover", step 0).
   */
  readonly passwordChangedElsewhere?: boolean;
}

export interface RecoveryResult {
  /** The backup key K; the caller destroys it when done and checks it against the backup's key check. */
  readonly key: BackupKey;
  /** limit - guessesLeft after this success: every failed guess of this incarnation. */
  readonly failedGuessesSinceLastSuccess: number;
  /** The same figure this device saw at its previous success (0 if none): the difference is new. */
  readonly failedGuessesAtPreviousSuccess: number;
  readonly guessesLeft: number;
  readonly limit: number;
  readonly version: number;
  readonly incarnation: number;
  /** True when another device changed the password since this one last saw the record (proof verified). */
  readonly changedElsewhere: boolean;
}

export class VaultClient {
  readonly #fleet: FleetPublicInfo;
  readonly #transport: VaultTransport;
  readonly #memory: RecordMemory;
  readonly #stretch: { 'argon2id-custom': Argon2idParameters };
  readonly #retries: number;

  constructor(options: VaultClientOptions) {
    this.#fleet = options.fleet;
    this.#transport = options.transport;
    this.#memory = options.memory ?? new InMemoryRecordMemory();
    this.#stretch = { 'argon2id-custom': { ...(options.argon2id ?? DEFAULT_ARGON2ID) } };
    this.#retries = options.retries ?? 3;
  }

  /**
   * Advisory counters of the record (status is never proof). Raises TamperingError when the vault
   * shows an older version, or another incarnation than this device remembers: it cannot check a
   * change proof without K (docs/PROTOCOL.md §10 "Recover", step 0).
   */
  async status(recordId: Uint8Array): Promise<VaultRecordStatus> {
    const summary = await this.#status(recordId);
    await this.#checkIncarnation(recordId, summary);
    return publicStatus(summary);
  }

  /** Enables password mode: registers `password` and stores K wrapped under its export key. */
  async enable(
    recordId: Uint8Array,
    password: string,
    key: Uint8Array,
    limit: number,
  ): Promise<VaultRecordStatus> {
    checkRecordId(recordId);
    checkKey(key);
    if (!Number.isInteger(limit) || limit < 1 || limit > this.#fleet.maxGuessLimit) {
      throw new UsageError(`guess limit must be 1..${this.#fleet.maxGuessLimit}`);
    }
    const summary = await this.#register(recordId, RegistrationKind.create, password, key, limit, undefined);
    await this.#memory.set(recordId, {
      incarnation: summary.incarnation,
      highestVersion: summary.version,
      failedGuessesAtLastSuccess: 0,
    });
    return publicStatus(summary);
  }

  /**
   * Recovers K with `password`; spends one guess, refunded only if the password is right. A record
   * registered again since this device last saw it is reported (TamperingError) before a guess is
   * spent, unless `options.passwordChangedElsewhere`.
   */
  async recover(
    recordId: Uint8Array,
    password: string,
    options: RecoverOptions = {},
  ): Promise<RecoveryResult> {
    checkRecordId(recordId);
    await opaque.ready;
    const remembered = await this.#memory.get(recordId);
    // A login start names the incarnation it is for: the remembered one spends nothing on another.
    let incarnation = remembered?.incarnation ?? (await this.#status(recordId)).incarnation;
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password });
      const ke1 = fromBase64Url(startLoginRequest);
      const started = await this.#send(
        VaultOp.loginStart,
        recordId,
        new LoginStartRequest({ incarnation, ke1 }).serialize(),
      );
      if (started.outcome === Outcome.stale) {
        await this.#observe(recordId, started.summary);
        if (options.passwordChangedElsewhere !== true)
          await this.#checkIncarnation(recordId, started.summary);
        incarnation = started.summary.incarnation;
        continue;
      }
      if (started.outcome === Outcome.noRecord) return this.#noRecord(recordId);
      const { summary, ke2, loginBlob } = expectOk<VaultOp.loginStart>(started);
      await this.#observe(recordId, summary);
      const finished = opaque.client.finishLogin({
        clientLoginState,
        loginResponse: toBase64Url(ke2),
        password,
        identifiers: this.#identifiers(recordId),
        keyStretching: this.#stretch,
      });
      if (finished === undefined) throw new WrongPasswordError(summary.guessesLeft);
      this.#checkServerKey(finished.serverStaticPublicKey);
      const exportKey = fromBase64Url(finished.exportKey);
      const sessionKey = fromBase64Url(finished.sessionKey);
      try {
        const ke3 = fromBase64Url(finished.finishLoginRequest);
        const done = await this.#send(
          VaultOp.loginFinish,
          recordId,
          new LoginFinishRequest({ ke3, loginBlob }).serialize(),
        );
        if (done.outcome === Outcome.stale) {
          // Another guess interleaved before our refund: this KE1 stays spent; start again.
          await this.#observe(recordId, done.summary);
          continue;
        }
        if (done.outcome === Outcome.noRecord) return this.#noRecord(recordId);
        const result = expectOk<VaultOp.loginFinish>(done);
        await this.#observe(recordId, result.summary);
        return await this.#unwrap(
          recordId,
          remembered,
          result.summary,
          result.recoveryNonce,
          result.recovery,
          sessionKey,
          exportKey,
        );
      } finally {
        exportKey.fill(0);
        sessionKey.fill(0);
      }
    }
    throw new UnavailableError('the vault record kept changing during recovery', { hints: ['try again'] });
  }

  /** Changes the password; `key` is K (from a recovery), which proves this device may change it. */
  async changePassword(
    recordId: Uint8Array,
    key: Uint8Array,
    newPassword: string,
    limit?: number,
  ): Promise<VaultRecordStatus> {
    checkRecordId(recordId);
    checkKey(key);
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      // Another incarnation needs no warning here: the cores accept the change only with a proof
      // MAC under the current incarnation's auth_key, which this K either derives or does not.
      const current = await this.#status(recordId);
      try {
        const summary = await this.#register(
          recordId,
          RegistrationKind.change,
          newPassword,
          key,
          limit ?? current.limit,
          current.incarnation,
        );
        const remembered = await this.#memory.get(recordId);
        await this.#memory.set(recordId, {
          incarnation: summary.incarnation,
          highestVersion: summary.version,
          failedGuessesAtLastSuccess: remembered?.failedGuessesAtLastSuccess ?? 0,
        });
        return publicStatus(summary);
      } catch (error) {
        if (!(error instanceof StaleError)) throw error;
      }
    }
    throw new UnavailableError('the vault record kept changing during the password change', {
      hints: ['try again'],
    });
  }

  /** Disables password mode for the record; `key` (K) proves this device may. */
  async delete(recordId: Uint8Array, key: Uint8Array): Promise<void> {
    checkRecordId(recordId);
    checkKey(key);
    for (let attempt = 0; attempt <= this.#retries; attempt++) {
      const current = await this.#status(recordId); // as in changePassword: the cores check the proof
      const proofMac = await this.#proof(
        VaultOp.delete,
        recordId,
        key,
        current.incarnation,
        current.version,
        await sha256(new Uint8Array(0)),
      );
      const response = await this.#send(
        VaultOp.delete,
        recordId,
        new DeleteRequest({ fromVersion: current.version, proofMac }).serialize(),
      );
      if (response.outcome === Outcome.stale) continue;
      // "No record" for a record this device has seen is tampering, at every step of a flow
      // (docs/PROTOCOL.md §10 "What a device remembers"), not NoRecordError from expectOk.
      if (response.outcome === Outcome.noRecord) return this.#noRecord(recordId);
      expectOk(response);
      await this.#memory.forget(recordId);
      return;
    }
    throw new UnavailableError('the vault record kept changing during delete', { hints: ['try again'] });
  }

  /** Registration steps 1 and 2 (docs/PROTOCOL.md §10 "Enable / change password"). */
  async #register(
    recordId: Uint8Array,
    kind: RegistrationKind,
    password: string,
    key: Uint8Array,
    limit: number,
    fromIncarnation: bigint | undefined,
  ): Promise<RecordSummary> {
    await opaque.ready;
    const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({ password });
    const start = await this.#send(
      VaultOp.registerStart,
      recordId,
      new RegisterStartRequest({ kind, registrationRequest: fromBase64Url(registrationRequest) }).serialize(),
    );
    if (start.outcome === Outcome.refused && start.reason === RefusalReason.badTransition) {
      throw new StrongroomError('the vault already holds an active record under this id', {
        hints: ['recover it, change its password, or delete it first'],
      });
    }
    if (start.outcome === Outcome.noRecord) return this.#noRecord(recordId);
    const step1 = expectOk(start);
    const remembered = await this.#memory.get(recordId);
    if (remembered !== undefined && step1.targetVersion <= remembered.highestVersion) {
      throw new TamperingError('the vault shows an older version of this record than this device has seen');
    }
    const finished = opaque.client.finishRegistration({
      clientRegistrationState,
      registrationResponse: toBase64Url(step1.registrationResponse),
      password,
      identifiers: this.#identifiers(recordId),
      keyStretching: this.#stretch,
    });
    this.#checkServerKey(finished.serverStaticPublicKey);
    const exportKey = fromBase64Url(finished.exportKey);
    const wrapKey = await hkdf(exportKey, new Uint8Array(0), Labels.wrapKey, 32);
    exportKey.fill(0);
    const nonce = randomBytes(12);
    const wrappedK = concat(nonce, await aesGcmSeal(wrapKey, nonce, key, recordId));
    wrapKey.fill(0);
    const authKey = await hkdf(key, new Uint8Array(0), Labels.vaultAuth, 32);
    const registrationRecord = fromBase64Url(finished.registrationRecord);
    let proofMac: Uint8Array = new Uint8Array(32);
    if (kind === RegistrationKind.change) {
      const contentHash = await sha256(changeContent(registrationRecord, wrappedK, authKey, limit));
      proofMac = await this.#proof(
        VaultOp.registerFinish,
        recordId,
        key,
        fromIncarnation as bigint,
        step1.targetVersion - 1n,
        contentHash,
      );
    }
    const request = new RegisterFinishRequest({
      kind,
      targetVersion: step1.targetVersion,
      registrationResponseHash: await sha256(step1.registrationResponse),
      limit,
      registrationRecord,
      wrappedK,
      authKey,
      proofMac,
      pendingBlob: step1.pendingBlob,
    });
    const response = await this.#send(VaultOp.registerFinish, recordId, request.serialize());
    authKey.fill(0);
    if (response.outcome === Outcome.stale) throw new StaleError();
    if (response.outcome === Outcome.refused && response.reason === RefusalReason.badProof) {
      throw new StrongroomError("the vault refused the change: this key is not the record's key");
    }
    return expectOk<VaultOp.registerFinish>(response);
  }

  async #unwrap(
    recordId: Uint8Array,
    remembered: Awaited<ReturnType<RecordMemory['get']>>,
    summary: RecordSummary,
    recoveryNonce: Uint8Array,
    sealedRecovery: Uint8Array,
    sessionKey: Uint8Array,
    exportKey: Uint8Array,
  ): Promise<RecoveryResult> {
    // Before K is opened, so that a refused counter leaves no copy of K behind.
    const version = counter(summary.version);
    const incarnation = counter(summary.incarnation);
    const recoveryKey = await hkdf(sessionKey, new Uint8Array(0), Labels.recoverResponse, 32);
    let recovery: Recovery;
    try {
      recovery = Recovery.deserialize(
        await aesGcmOpen(recoveryKey, recoveryNonce, sealedRecovery, summary.serialize()),
      );
    } catch {
      throw new TamperingError('the recovered key did not authenticate under the login session key');
    } finally {
      recoveryKey.fill(0);
    }
    const wrapKey = await hkdf(exportKey, new Uint8Array(0), Labels.wrapKey, 32);
    let keyBytes: Uint8Array;
    try {
      keyBytes = await aesGcmOpen(
        wrapKey,
        recovery.wrappedK.subarray(0, 12),
        recovery.wrappedK.subarray(12),
        recordId,
      );
    } catch {
      throw new TamperingError("the wrapped backup key did not open under this password's export key");
    } finally {
      wrapKey.fill(0);
    }
    const key = new BackupKey(keyBytes);
    keyBytes.fill(0);
    const changedElsewhere = remembered !== undefined && remembered.incarnation !== summary.incarnation;
    const failed = summary.limit - summary.guessesLeft;
    try {
      if (changedElsewhere) await this.#checkChangeProof(recordId, key.exposeBytes(), summary, recovery);
      await this.#memory.set(recordId, {
        incarnation: summary.incarnation,
        highestVersion: maxBig(summary.version, remembered?.highestVersion ?? 0n),
        failedGuessesAtLastSuccess: failed,
      });
    } catch (error) {
      key.destroy(); // K never reaches the caller: its life ends here
      throw error;
    }
    return {
      key,
      failedGuessesSinceLastSuccess: failed,
      failedGuessesAtPreviousSuccess: changedElsewhere ? 0 : (remembered?.failedGuessesAtLastSuccess ?? 0),
      guessesLeft: summary.guessesLeft,
      limit: summary.limit,
      version,
      incarnation,
      changedElsewhere,
    };
  }

  /** Another incarnation is accepted only with a change MAC this K verifies (docs/PROTOCOL.md §10 "Recover"). */
  async #checkChangeProof(
    recordId: Uint8Array,
    key: Uint8Array,
    summary: RecordSummary,
    recovery: Recovery,
  ): Promise<void> {
    const proof = recovery.changeProof;
    if (proof === undefined || proof.fromVersion + 1n !== summary.incarnation) {
      throw new TamperingError('the record was re-registered without a change proof this device can verify');
    }
    const expected = await this.#proof(
      VaultOp.registerFinish,
      recordId,
      key,
      proof.fromIncarnation,
      proof.fromVersion,
      proof.contentHash,
    );
    if (!constantTimeEqual(expected, proof.mac)) {
      throw new TamperingError(
        'the record was re-registered with a change proof made without this backup key',
      );
    }
  }

  async #proof(
    op: VaultOp,
    recordId: Uint8Array,
    key: Uint8Array,
    incarnation: bigint,
    fromVersion: bigint,
    contentHash: Uint8Array,
  ): Promise<Uint8Array> {
    const authKey = await hkdf(key, new Uint8Array(0), Labels.vaultAuth, 32);
    const mac = await hmacSha256(
      authKey,
      proofMessage({ op, fleetId: this.#fleet.fleetId, recordId, incarnation, fromVersion, contentHash }),
    );
    authKey.fill(0);
    return mac;
  }

  /** The record's counters, with the version check of #observe only. */
  async #status(recordId: Uint8Array): Promise<RecordSummary> {
    checkRecordId(recordId);
    await opaque.ready;
    const response = await this.#send(VaultOp.status, recordId, new StatusRequest().serialize());
    if (response.outcome === Outcome.noRecord) return this.#noRecord(recordId);
    const summary = expectOk(response);
    await this.#observe(recordId, summary);
    return summary;
  }

  /**
   * Raises TamperingError when the vault shows another incarnation than this device remembers: the
   * record was registered again (a change by another device, or someone locking it and registering
   * a password of their own), and its change proof can only be checked with K, after a login. A
   * login on it would spend the user's guesses on a record that may not be theirs.
   */
  async #checkIncarnation(recordId: Uint8Array, summary: RecordSummary): Promise<void> {
    const remembered = await this.#memory.get(recordId);
    if (remembered === undefined || remembered.incarnation === summary.incarnation) return;
    throw new TamperingError(
      `the vault record was registered again since this device last saw it (incarnation ${summary.incarnation}; this device knew ${remembered.incarnation})`,
      {
        hints: [
          'if you changed the password on another device, recover confirming it (CLI: backup restore --password-changed-elsewhere); its change proof is checked with the recovered key',
          'otherwise someone may have replaced the record: do not type your password until you know why',
        ],
      },
    );
  }

  /** Raises TamperingError when the vault shows an older version than this device has seen. */
  async #observe(recordId: Uint8Array, summary: RecordSummary): Promise<void> {
    const remembered = await this.#memory.get(recordId);
    if (remembered === undefined) return;
    if (summary.version < remembered.highestVersion) {
      throw new TamperingError(
        `the vault shows version ${summary.version} of this record, older than version ${remembered.highestVersion} this device has seen`,
        { hints: ['someone may have rolled the vault back; do not re-register until you know why'] },
      );
    }
    await this.#memory.set(recordId, { ...remembered, highestVersion: summary.version });
  }

  async #noRecord(recordId: Uint8Array): Promise<never> {
    if ((await this.#memory.get(recordId)) !== undefined) {
      throw new TamperingError('the vault says it has no record this device has seen before', {
        hints: ['the record may be hidden by the operator; do not re-register until you know why'],
      });
    }
    throw new NoRecordError('the vault has no record under this id');
  }

  #identifiers(recordId: Uint8Array): { client: string; server: string } {
    return { client: toHex(recordId), server: toHex(this.#fleet.fleetId) };
  }

  #checkServerKey(serverStaticPublicKey: string): void {
    if (!bytesEqual(fromBase64Url(serverStaticPublicKey), this.#fleet.opaqueServerPublicKey)) {
      throw new TamperingError("the vault's OPAQUE key differs from the pinned fleet key");
    }
  }

  #send<K extends VaultOp>(op: K, recordId: Uint8Array, body: Uint8Array): Promise<VaultResponse<K>> {
    return exchange(this.#fleet, this.#transport, op, recordId, body);
  }
}

/** Internal: the record moved between steps; the flow restarts. */
class StaleError extends Error {}

function expectOk<K extends VaultOp>(response: VaultResponse<K>): OkResults[K] {
  switch (response.outcome) {
    case Outcome.ok:
      return response.result;
    case Outcome.locked:
      throw new LockedError(
        'the vault record is locked: its guesses ran out and the backup key is destroyed',
      );
    case Outcome.noRecord:
      throw new NoRecordError('the vault has no record under this id');
    case Outcome.stale:
      throw new StaleError();
    case Outcome.refused:
      throw new StrongroomError(`the vault refused the request (${RefusalReason[response.reason]})`);
  }
}

function checkRecordId(recordId: Uint8Array): void {
  if (
    !(recordId instanceof Uint8Array) ||
    recordId.length < RECORD_ID_MIN ||
    recordId.length > RECORD_ID_MAX
  ) {
    throw new UsageError(`a vault record id must be ${RECORD_ID_MIN}..${RECORD_ID_MAX} bytes`);
  }
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.length !== 32)
    throw new UsageError('the backup key must be 32 bytes');
}

const maxBig = (a: bigint, b: bigint) => (a > b ? a : b);

const STATE_NAMES = {
  [RecordStatus.active]: 'active',
  [RecordStatus.locked]: 'locked',
  [RecordStatus.deleted]: 'deleted',
} as const satisfies Record<RecordStatus, VaultRecordState>;

/** The wire summary as the plain result callers get (docs/API.md "Vault results"). */
function publicStatus(summary: RecordSummary): VaultRecordStatus {
  return {
    status: STATE_NAMES[summary.status],
    limit: summary.limit,
    guessesLeft: summary.guessesLeft,
    version: counter(summary.version),
    incarnation: counter(summary.incarnation),
  };
}

/** A certified counter as a number: one step per write, so past 2^53 only a broken vault gets. */
function counter(value: bigint): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new StrongroomError(`the vault reports a record counter of ${value}, beyond any real history`);
  }
  return Number(value);
}
