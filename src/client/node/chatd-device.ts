// A device's state on disk for the CLI (docs/CHATD.md "Running it": the device directory): its identity, the
// server it joined, the pinned fleet key, its backup mode and store, K once backup is enabled, and
// what it remembers of its vault record (docs/PROTOCOL.md §10 "What a device remembers").
//
//   DIR/device.json   public state (format strongroom-device/v1); no secret
//   DIR/device.key    the Ed25519 device secret key, hex (mode 0600)
//   DIR/backup.key    K in its 64-digit text form (mode 0600), once backup is enabled or restored
//   DIR/fleet.pub     the pinned fleet public info, copied at join time
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StrongroomError, UsageError } from '../../errors.ts';
import { BackupKey } from '../../format/key.ts';
import { FleetPublicInfo } from '../../protocol/fleet.ts';
import { DeviceIdentity } from '../chatd/identity.ts';
import type { RecordMemory, RememberedRecord } from '../vault/memory.ts';

const FORMAT = 'strongroom-device/v1';

export type BackupMode = 'none' | 'password' | 'manual';

export interface LastBackup {
  readonly id: string;
  readonly size: number;
  readonly created: string;
}

/** The contents of device.json. */
export interface DeviceFile {
  readonly format: typeof FORMAT;
  readonly server: string;
  readonly userId: string;
  readonly mode: BackupMode;
  /** Where new backups go: `chatd:` (the server's storage), a directory, or `s3://bucket/prefix`. */
  readonly store: string;
  /** Vault records this device has seen, by record id (hex); versions as decimal strings. */
  readonly records: Readonly<
    Record<string, { incarnation: string; highestVersion: string; failedGuessesAtLastSuccess: number }>
  >;
  readonly lastBackup?: LastBackup;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** Writes a small file whole or not at all (temporary file, then rename), with `mode` from the start. */
function writeSmallFile(path: string, text: string, mode = 0o644): void {
  const temp = `${path}.tmp-${process.pid}`;
  writeFileSync(temp, text, { mode, flag: 'w' });
  renameSync(temp, path);
}

export class DeviceDir {
  private constructor(
    readonly dir: string,
    private state: DeviceFile,
  ) {}

  get server(): string {
    return this.state.server;
  }
  get userId(): string {
    return this.state.userId;
  }
  get mode(): BackupMode {
    return this.state.mode;
  }
  get store(): string {
    return this.state.store;
  }
  get lastBackup(): LastBackup | undefined {
    return this.state.lastBackup;
  }

  private path(name: string): string {
    return join(this.dir, name);
  }

  /** Makes a new device directory with a fresh key pair; refuses one that holds a device already. */
  static async create(
    dir: string,
    fields: { server: string; userId: string; fleetPub: string },
  ): Promise<DeviceDir> {
    if (existsSync(join(dir, 'device.json'))) {
      throw new StrongroomError(`${dir} already holds a device`, {
        hints: ['use another --device directory'],
      });
    }
    const fleet = FleetPublicInfo.fromText(fields.fleetPub); // refuses a malformed fleet key before anything is written
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const identity = DeviceIdentity.generate(fields.userId);
    const secret = identity.exportSecretKey();
    writeSmallFile(join(dir, 'device.key'), `${hex(secret)}\n`, 0o600);
    secret.fill(0);
    identity.destroy();
    writeSmallFile(join(dir, 'fleet.pub'), fleet.toText());
    const device = new DeviceDir(dir, {
      format: FORMAT,
      server: fields.server,
      userId: fields.userId,
      mode: 'none',
      store: 'chatd:',
      records: {},
    });
    await device.save();
    return device;
  }

  static open(dir: string): DeviceDir {
    let state: DeviceFile;
    try {
      state = JSON.parse(readFileSync(join(dir, 'device.json'), 'utf8')) as DeviceFile;
    } catch {
      throw new UsageError(`${dir} is not a device directory`, {
        hints: ['`strongroom account join --device DIR ...` makes one'],
      });
    }
    if (state.format !== FORMAT) throw new UsageError(`${dir}/device.json is not a ${FORMAT} file`);
    return new DeviceDir(dir, state);
  }

  /** The device identity; the caller destroys it when done. */
  identity(): DeviceIdentity {
    const text = readFileSync(this.path('device.key'), 'utf8').trim();
    const secret = new Uint8Array(Buffer.from(text, 'hex'));
    try {
      return new DeviceIdentity(this.state.userId, secret);
    } finally {
      secret.fill(0);
    }
  }

  fleet(): FleetPublicInfo {
    return FleetPublicInfo.fromText(readFileSync(this.path('fleet.pub'), 'utf8'));
  }

  holdsBackupKey(): boolean {
    return existsSync(this.path('backup.key'));
  }

  /** K, when this device holds it; the caller destroys it when done. */
  backupKey(): BackupKey | undefined {
    if (!this.holdsBackupKey()) return undefined;
    return BackupKey.parse(readFileSync(this.path('backup.key'), 'utf8'));
  }

  async saveBackupKey(key: BackupKey): Promise<void> {
    writeSmallFile(this.path('backup.key'), `${key.format()}\n`, 0o600);
  }

  /** Ends K's life on this device's disk (backup disabled). */
  forgetBackupKey(): void {
    rmSync(this.path('backup.key'), { force: true });
  }

  async update(fields: Partial<Omit<DeviceFile, 'format'>>): Promise<void> {
    this.state = { ...this.state, ...fields };
    await this.save();
  }

  private async save(): Promise<void> {
    writeSmallFile(this.path('device.json'), `${JSON.stringify(this.state, null, 2)}\n`);
  }

  /** The vault client's memory of records, kept in device.json. */
  recordMemory(): RecordMemory {
    return {
      get: async (recordId) => {
        const r = this.state.records[hex(recordId)];
        return (
          r && {
            incarnation: BigInt(r.incarnation),
            highestVersion: BigInt(r.highestVersion),
            failedGuessesAtLastSuccess: r.failedGuessesAtLastSuccess,
          }
        );
      },
      set: async (recordId, record: RememberedRecord) => {
        const entry = {
          incarnation: record.incarnation.toString(),
          highestVersion: record.highestVersion.toString(),
          failedGuessesAtLastSuccess: record.failedGuessesAtLastSuccess,
        };
        await this.update({ records: { ...this.state.records, [hex(recordId)]: entry } });
      },
      forget: async (recordId) => {
        const { [hex(recordId)]: _, ...rest } = this.state.records;
        await this.update({ records: rest });
      },
    };
  }
}
