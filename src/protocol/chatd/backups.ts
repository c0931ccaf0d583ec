// The account's backup list (docs/PROTOCOL.md "ChatD: Backup list"): ids, sizes,
// times and where each backup is stored — never a key. Devices add an entry after a backup
// completes and remove it when they delete the backup.
//
//   BackupEntry        = idLen u8 || id || size u64 || createdAtMs u64 || locationLen u16 || location
//   BackupListRequest  (c→s, 0x30): empty
//   BackupList         (s→c, 0x31): count u16 || BackupEntry*
//   BackupAdd          (c→s, 0x32): BackupEntry            → Ok
//   BackupRemove       (c→s, 0x33): idLen u8 || id         → Ok
import { Ok } from './errors.ts';
import { type ChatdRequest, checkEmpty, checkName, checkU64 } from './message.ts';
import { ByteWriter, check, Reader } from './wire.ts';

/** Most entries a list carries; an account keeps at most this many backups listed. */
export const MAX_BACKUP_ENTRIES = 1000;
const MAX_LOCATION_BYTES = 1024;

/** One listed backup. */
export class BackupEntry {
  /** The backup id (as printed by `backup create`). */
  readonly id: string;
  /** Size of the encrypted stream in bytes. */
  readonly size: bigint;
  /** When the backup was made, milliseconds since the Unix epoch. */
  readonly createdAtMs: bigint;
  /** Where the stream is: `chatd:` for the server's storage, a directory, or `s3://bucket/prefix`. */
  readonly location: string;

  constructor(fields: { id: string; size: bigint; createdAtMs: bigint; location: string }) {
    this.id = checkName('backup entry', fields.id);
    this.size = checkU64('backup entry', 'size', fields.size);
    this.createdAtMs = checkU64('backup entry', 'time', fields.createdAtMs);
    check(
      typeof fields.location === 'string' &&
        new TextEncoder().encode(fields.location).length <= MAX_LOCATION_BYTES,
      'backup entry',
      `location must be at most ${MAX_LOCATION_BYTES} bytes`,
    );
    this.location = fields.location;
  }

  write(w: ByteWriter): ByteWriter {
    return w.string8(this.id).u64(this.size).u64(this.createdAtMs).string16(this.location);
  }

  static read(r: Reader): BackupEntry {
    const id = r.string8('backup id');
    const size = r.u64('size');
    const createdAtMs = r.u64('time');
    const location = r.string16('location');
    return new BackupEntry({ id, size, createdAtMs, location });
  }
}

export class BackupListRequest implements ChatdRequest<BackupList> {
  static readonly TYPE = 0x30;
  readonly type = BackupListRequest.TYPE;
  get responseType() {
    return BackupList;
  }

  serialize(): Uint8Array {
    return new Uint8Array(0);
  }

  static deserialize(body: Uint8Array): BackupListRequest {
    checkEmpty('backup list request', body);
    return new BackupListRequest();
  }
}

/** The account's backups, oldest first. */
export class BackupList {
  static readonly TYPE = 0x31;
  readonly type = BackupList.TYPE;
  readonly entries: readonly BackupEntry[];

  constructor(entries: readonly BackupEntry[]) {
    check(entries.length <= MAX_BACKUP_ENTRIES, 'backup list', `at most ${MAX_BACKUP_ENTRIES} entries`);
    this.entries = [...entries];
  }

  serialize(): Uint8Array {
    const w = new ByteWriter().u16(this.entries.length);
    for (const entry of this.entries) entry.write(w);
    return w.finish();
  }

  static deserialize(body: Uint8Array): BackupList {
    const r = new Reader(body, 'backup list');
    const count = r.u16('count');
    check(count <= MAX_BACKUP_ENTRIES, 'backup list', `at most ${MAX_BACKUP_ENTRIES} entries`);
    const entries: BackupEntry[] = [];
    for (let i = 0; i < count; i++) entries.push(BackupEntry.read(r));
    r.end();
    return new BackupList(entries);
  }
}

/** Lists a finished backup (replacing an entry with the same id). */
export class BackupAdd implements ChatdRequest<Ok> {
  static readonly TYPE = 0x32;
  readonly type = BackupAdd.TYPE;
  get responseType() {
    return Ok;
  }
  constructor(readonly entry: BackupEntry) {}

  serialize(): Uint8Array {
    return this.entry.write(new ByteWriter()).finish();
  }

  static deserialize(body: Uint8Array): BackupAdd {
    const r = new Reader(body, 'backup add');
    const entry = BackupEntry.read(r);
    r.end();
    return new BackupAdd(entry);
  }
}

/** Removes a backup from the list (the blob itself is deleted with BlobDelete). */
export class BackupRemove implements ChatdRequest<Ok> {
  static readonly TYPE = 0x33;
  readonly type = BackupRemove.TYPE;
  get responseType() {
    return Ok;
  }
  readonly id: string;

  constructor(id: string) {
    this.id = checkName('backup remove', id);
  }

  serialize(): Uint8Array {
    return new ByteWriter().string8(this.id).finish();
  }

  static deserialize(body: Uint8Array): BackupRemove {
    const r = new Reader(body, 'backup remove');
    const id = r.string8('backup id');
    r.end();
    return new BackupRemove(id);
  }
}
