// The whole story for `strongroom demo` (docs/BACKUP.md "Demo"; docs/CHATD.md): on the
// embedded server in a temporary directory, a phone joins an account, enables password backup and
// backs up a generated chat history; a day later it backs up again, uploading only the new messages
// and media; the phone is lost; a new device joins, a wrong password costs one guess, the right
// one recovers K, the latest backup is restored and verified byte for byte. Reuses the standalone
// demo's generator, second day and verifier (src/demo).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatdClient } from '../client/chatd/client.ts';
import { DeviceDir } from '../client/node/chatd-device.ts';
import { DeviceSession } from '../client/node/chatd-session.ts';
import { openNodeSocket } from '../client/node/chatd-socket.ts';
import type { Argon2idParameters } from '../client/vault/client.ts';
import { compareTrees } from '../demo/compare-trees.ts';
import { addSampleDay, generateSampleHistory } from '../demo/sample-history.ts';
import { type DemoOptions, type DemoResult, phaseClock, secondDayOptions } from '../demo/standalone.ts';
import { StrongroomError, WrongPasswordError } from '../errors.ts';
import { EmbeddedServer } from './embedded.ts';

const USER = 'demo-user';
/** The demo's guess limit: small, so the cost of one wrong guess is easy to see. */
const DEMO_GUESS_LIMIT = 10;

export interface ServerDemoOptions extends DemoOptions {
  /** One line per step of the story, as it happens. */
  readonly onStep?: (line: string) => void;
  /** Argon2id for OPAQUE (default: the real 64 MiB; tests pass smaller). */
  readonly argon2id?: Argon2idParameters;
}

export interface ServerDemoResult extends DemoResult {
  /** Summary lines about the vault part of the story. */
  readonly story: readonly string[];
  readonly guessesLeft: number;
  readonly limit: number;
}

export async function runServerDemo(options: ServerDemoOptions): Promise<ServerDemoResult> {
  const step = options.onStep ?? (() => {});
  const workDir = await mkdtemp(join(tmpdir(), 'strongroom-demo-'));
  const source = join(workDir, 'phone', 'chat-history');
  const restored = join(workDir, 'new-phone', 'restored');
  const { seconds, timed, progress } = phaseClock(options.onProgress);
  const codes: string[] = [];
  const server = await EmbeddedServer.start({
    dataDir: join(workDir, 'server'),
    codeSender: { send: async (_user, code) => void codes.push(code) },
  });
  const sessions: DeviceSession[] = [];
  const joinDevice = async (name: string): Promise<DeviceSession> => {
    const fleetPub = readFileSync(server.fleetPubPath, 'utf8');
    const device = await DeviceDir.create(join(workDir, name), {
      server: server.url,
      userId: USER,
      fleetPub,
    });
    const identity = device.identity();
    const joining = await ChatdClient.connect({ url: server.url, identity, openSocket: openNodeSocket });
    try {
      await joining.requestJoinCode();
      await joining.submitJoinCode(codes.at(-1)!);
    } finally {
      joining.close();
      identity.destroy();
    }
    const session = await DeviceSession.open(device, { argon2id: options.argon2id });
    sessions.push(session);
    return session;
  };
  // The demo's password: made here, typed by nobody, gone with the process.
  const password = `demo-${randomBytes(6).toString('hex')}`;
  try {
    step(`server: ChatD + 3-node vault fleet at ${server.url}`);
    const sample = await timed('generate', () =>
      generateSampleHistory(source, { ...options, onProgress: progress('generate') }),
    );
    const phone = await joinDevice('phone-device');
    step(`phone joined account ${USER} with a code sent out of band`);
    await phone.enablePassword(password, { limit: DEMO_GUESS_LIMIT });
    step(
      `password backup enabled: K is in the vault behind the password, ${DEMO_GUESS_LIMIT} guesses allowed`,
    );
    const backup = await timed('backup', () => phone.createBackup([source]));
    step(`backed up ${backup.id} to the server's storage (ciphertext only)`);
    const second = await timed('second day', async () => {
      const added = await addSampleDay(source, {
        ...secondDayOptions(options),
        onProgress: progress('second day'),
      });
      return { added, snapshot: await phone.createBackup([source]) };
    });
    step(
      `a day later: ${second.added.messages} new messages and ${second.added.mediaFiles} new media files; backed up ${second.snapshot.id}, uploading only what was new`,
    );
    phone.close();
    step('the phone is lost');

    const newPhone = await joinDevice('new-phone-device');
    step('new phone joined the account with a fresh code; it holds no key');
    let guessesAfterWrong = -1;
    try {
      await newPhone.restore({ to: restored, password: `${password}-typo` });
      throw new StrongroomError('the vault accepted a wrong password');
    } catch (error) {
      if (!(error instanceof WrongPasswordError)) throw error;
      guessesAfterWrong = error.guessesLeft;
      step(`a wrong password cost one guess: ${error.guessesLeft} left`);
    }
    const report = await timed('restore', () =>
      newPhone.restore({ to: restored, password, onProgress: progress('restore') }),
    );
    const recovery = report.recovery!;
    step(
      `the right password recovered K; the vault counts ${recovery.failedGuessesSincePasswordSet} wrong password(s) since the password was set`,
    );
    const comparison = await timed('verify', () => compareTrees(source, join(restored, 'chat-history')));
    const story = [
      `vault: ${recovery.limit} guesses allowed; the wrong password left ${guessesAfterWrong}, the right one was refunded: ${recovery.guessesLeft} left`,
      `new phone was told: ${recovery.failedGuessesSincePasswordSet} wrong password(s) since the password was set`,
    ];
    return {
      workDir,
      sample,
      backupId: backup.id,
      plainBytes: backup.size,
      backupBytes: backup.added,
      secondDay: {
        added: second.added,
        backupId: second.snapshot.id,
        plainBytes: second.snapshot.size,
        uploadedBytes: second.snapshot.added,
      },
      seconds,
      comparison,
      story,
      guessesLeft: recovery.guessesLeft,
      limit: recovery.limit,
    };
  } finally {
    for (const session of sessions) session.close();
    await server.close();
    if (!options.keep) await rm(workDir, { recursive: true, force: true });
  }
}
