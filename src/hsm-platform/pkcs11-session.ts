// PKCS#11 plumbing for the keystore (pkcs11.ts): one initialised module per library path per process
// (C_Initialize may run only once; several nodes of an in-process fleet share it), token lookup by
// label, and sessions that replace themselves after a failed operation, because SoftHSM2 can leave an
// operation active after an error (a later C_EncryptInit then fails with CKR_OPERATION_ACTIVE).
import pkcs11js from 'pkcs11js';

export interface TokenSession {
  /** Runs `operation` on this session; if it throws, the session is replaced before rethrowing. */
  run<T>(operation: (p11: pkcs11js.PKCS11, session: pkcs11js.Handle) => T): T;
  /** Handles of the secret-key objects with this label. */
  findKeys(label: string): pkcs11js.Handle[];
  close(): void;
}

export interface Pkcs11Module {
  readonly p11: pkcs11js.PKCS11;
  /** Opens a read-write session on the token with this label and logs the user in. */
  openSession(tokenLabel: string, pin: string): TokenSession;
  /** Drops this reference; the last one finalises the library. */
  release(): void;
}

const modules = new Map<string, { p11: pkcs11js.PKCS11; references: number; finalize: boolean }>();

function errorCode(error: unknown): number | undefined {
  return typeof (error as { code?: unknown })?.code === 'number'
    ? (error as { code: number }).code
    : undefined;
}

export function acquireModule(modulePath: string): Pkcs11Module {
  let entry = modules.get(modulePath);
  if (entry === undefined) {
    const p11 = new pkcs11js.PKCS11();
    try {
      p11.load(modulePath);
    } catch (error) {
      throw new Error(`PKCS#11 module ${modulePath} could not be loaded`, { cause: error });
    }
    let finalize = true;
    try {
      p11.C_Initialize();
    } catch (error) {
      // Another library in this process initialised it first: use it, leave finalising to them.
      if (errorCode(error) !== pkcs11js.CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error;
      finalize = false;
    }
    entry = { p11, references: 0, finalize };
    modules.set(modulePath, entry);
  }
  entry.references++;
  const held = entry;
  let released = false;
  return {
    p11: held.p11,
    openSession: (tokenLabel, pin) => openTokenSession(held.p11, modulePath, tokenLabel, pin),
    release() {
      if (released) return;
      released = true;
      if (--held.references > 0) return;
      modules.delete(modulePath);
      if (held.finalize) held.p11.C_Finalize();
      held.p11.close();
    },
  };
}

function findSlot(p11: pkcs11js.PKCS11, modulePath: string, tokenLabel: string): pkcs11js.Handle {
  const slots = p11
    .C_GetSlotList(true)
    .filter((slot) => p11.C_GetTokenInfo(slot).label.trimEnd() === tokenLabel);
  if (slots.length !== 1) {
    throw new Error(
      `PKCS#11 module ${modulePath} has ${slots.length} tokens labelled "${tokenLabel}", not 1`,
    );
  }
  return slots[0]!;
}

function openTokenSession(
  p11: pkcs11js.PKCS11,
  modulePath: string,
  tokenLabel: string,
  pin: string,
): TokenSession {
  const slot = findSlot(p11, modulePath, tokenLabel);
  const open = () => p11.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  let handle = open();
  try {
    p11.C_Login(handle, pkcs11js.CKU_USER, pin);
  } catch (error) {
    // Login state is per application and token: another node's session on this token already did it.
    if (errorCode(error) !== pkcs11js.CKR_USER_ALREADY_LOGGED_IN) {
      p11.C_CloseSession(handle);
      const reason = errorCode(error) === pkcs11js.CKR_PIN_INCORRECT ? 'wrong PIN' : 'login failed';
      throw new Error(`PKCS#11 token "${tokenLabel}": ${reason}`, { cause: error });
    }
  }
  let closed = false;
  return {
    run(operation) {
      if (closed) throw new Error(`PKCS#11 session on "${tokenLabel}" is closed`);
      try {
        return operation(p11, handle);
      } catch (error) {
        // Open the replacement first: the login lasts while any session of ours is open, so the
        // PIN need not be kept in memory.
        const fresh = open();
        p11.C_CloseSession(handle);
        handle = fresh;
        throw error;
      }
    },
    findKeys(label) {
      p11.C_FindObjectsInit(handle, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_LABEL, value: label },
      ]);
      try {
        return p11.C_FindObjects(handle, 16);
      } finally {
        p11.C_FindObjectsFinal(handle);
      }
    },
    close() {
      if (closed) return;
      closed = true;
      p11.C_CloseSession(handle);
    },
  };
}
