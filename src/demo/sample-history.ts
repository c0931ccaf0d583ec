// Generates a realistic sample chat history for `strongroom demo` (README "demo"): a SQLite message
// database (better-sqlite3) with thousands of messages across several chats, plus media files —
// deterministic from a seed, so two runs with the same seed produce the same bytes and mtimes.
import { createCipheriv, createHash } from 'node:crypto';
import { lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface SampleOptions {
  seed: number;
  /** Approximate bytes of media to generate. */
  mediaBytes: number;
  /** Messages across all chats. */
  messages: number;
  /** Called with bytes written so far of about `mediaBytes`. */
  onProgress?: (done: number, total: number) => void;
}

export interface SampleSummary {
  readonly chats: number;
  readonly messages: number;
  readonly mediaFiles: number;
  readonly bytes: number;
}

const CHATS = ['Family', 'Climbing club', 'Ana', 'Work: platform team', 'Flat 3B', 'Book club'];
const PEOPLE = ['Ana', 'Bilal', 'Chiara', 'Dmitri', 'Eun-ji', 'Farah', 'Goran', 'Hana', 'Ines', 'Jonas'];
const WORDS = (
  'ok sure see you at eight did you get the tickets running late sorry the train is stuck ' +
  'happy birthday!! photos from the weekend are up who has the key to the shed dinner on friday ' +
  'I can bring dessert the meeting moved to 3pm can someone review my PR thanks a lot ' +
  'that route was brutal next time we try the overhang lol just landed call you later'
).split(' ');
const MEDIA_KINDS = [
  { ext: 'jpg', mime: 'image/jpeg', min: 80_000, max: 2_500_000 },
  { ext: 'mp4', mime: 'video/mp4', min: 1_000_000, max: 6_000_000 },
  { ext: 'opus', mime: 'audio/ogg', min: 20_000, max: 400_000 },
  { ext: 'pdf', mime: 'application/pdf', min: 50_000, max: 900_000 },
];
// 2026-01-01T00:00:00Z: every timestamp is an offset from it, so the tree does not depend on today.
const EPOCH_MS = Date.UTC(2026, 0, 1);

/** sfc32: a small, fast, seedable generator for choices (not for secrets). */
function chooser(seedBytes: Buffer): { int(max: number): number } {
  let [a, b, c, d] = [0, 4, 8, 12].map((i) => seedBytes.readUInt32LE(i)) as [number, number, number, number];
  const next = () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 2 ** 32;
  };
  return { int: (max) => Math.floor(next() * max) };
}

interface MediaRow {
  id: number;
  chat: number;
  path: string;
  mime: string;
  size: number;
  sha256: string;
}

type Chooser = ReturnType<typeof chooser>;

/**
 * Writes about `bytes` of media files into `directory`/media, numbered on from `first`, each dated
 * an hour after the one before from `fromMs`; their content is the AES-256-CTR keystream under the
 * seed, as incompressible as real photos and video.
 */
async function writeMedia(
  directory: string,
  rng: Chooser,
  seed: Buffer,
  options: { first: number; bytes: number; fromMs: number; onProgress?: SampleOptions['onProgress'] },
): Promise<MediaRow[]> {
  const keystream = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const media: MediaRow[] = [];
  let written = 0;
  while (written < options.bytes) {
    const kind = MEDIA_KINDS[rng.int(MEDIA_KINDS.length)]!;
    const size = Math.min(kind.min + rng.int(kind.max - kind.min), options.bytes - written + kind.min);
    const chat = rng.int(CHATS.length);
    const id = options.first + media.length;
    const path = `media/${String(id).padStart(5, '0')}.${kind.ext}`;
    const content = keystream.update(Buffer.alloc(size));
    await writeFile(join(directory, path), content, { mode: 0o640 });
    await setTime(join(directory, path), options.fromMs + media.length * 3_600_000);
    media.push({ id, chat, path, mime: kind.mime, size, sha256: sha256(content) });
    written += size;
    options.onProgress?.(written, options.bytes);
  }
  return media;
}

/**
 * Inserts `media` and `count` messages after message `afterId` sent at `afterMs`, in one
 * transaction; every seventh message carries the next of `media`.
 */
function insertMessages(
  db: Database.Database,
  rng: Chooser,
  media: readonly MediaRow[],
  options: { afterId: number; afterMs: number; count: number },
): void {
  db.transaction(() => {
    const addMedia = db.prepare('INSERT INTO media VALUES (?, ?, ?, ?, ?, ?)');
    for (const m of media) addMedia.run(m.id, m.chat + 1, m.path, m.mime, m.size, m.sha256);
    const addMessage = db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)');
    let sentAt = options.afterMs;
    for (let n = 1; n <= options.count; n++) {
      sentAt += 1000 + rng.int(1_800_000);
      const words = Array.from({ length: 2 + rng.int(18) }, () => WORDS[rng.int(WORDS.length)]).join(' ');
      const attached = n % 7 === 0 && n / 7 <= media.length ? media[n / 7 - 1]! : null;
      const chat = attached === null ? rng.int(CHATS.length) + 1 : attached.chat + 1;
      addMessage.run(
        options.afterId + n,
        chat,
        rng.int(PEOPLE.length) + 1,
        sentAt,
        words,
        attached?.id ?? null,
      );
    }
  })();
}

/** Writes the sample history into `directory` (created; must not exist or be empty). */
export async function generateSampleHistory(
  directory: string,
  options: SampleOptions,
): Promise<SampleSummary> {
  const seed = createHash('sha256').update(`strongroom-demo/${options.seed}`).digest();
  const rng = chooser(seed);
  const mediaDir = join(directory, 'media');
  await mkdir(mediaDir, { recursive: true });
  const media = await writeMedia(directory, rng, seed, {
    first: 1,
    bytes: options.mediaBytes,
    fromMs: EPOCH_MS,
    onProgress: options.onProgress,
  });

  const dbPath = join(directory, 'messages.db');
  const db = new Database(dbPath);
  try {
    db.exec(`
      CREATE TABLE chats (id INTEGER PRIMARY KEY, title TEXT NOT NULL);
      CREATE TABLE contacts (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
      CREATE TABLE media (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL REFERENCES chats(id), path TEXT NOT NULL, mime TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL);
      CREATE TABLE messages (id INTEGER PRIMARY KEY, chat_id INTEGER NOT NULL REFERENCES chats(id), sender_id INTEGER NOT NULL REFERENCES contacts(id), sent_at INTEGER NOT NULL, body TEXT NOT NULL, media_id INTEGER REFERENCES media(id));
      CREATE INDEX messages_by_chat ON messages(chat_id, sent_at);
    `);
    db.transaction(() => {
      const addChat = db.prepare('INSERT INTO chats VALUES (?, ?)');
      for (const [i, title] of CHATS.entries()) addChat.run(i + 1, title);
      const addContact = db.prepare('INSERT INTO contacts VALUES (?, ?)');
      for (const [i, name] of PEOPLE.entries()) addContact.run(i + 1, name);
    })();
    insertMessages(db, rng, media, { afterId: 0, afterMs: EPOCH_MS, count: options.messages });
  } finally {
    db.close();
  }
  await setTime(dbPath, EPOCH_MS + 90 * 86_400_000);
  await symlink('messages.db', join(directory, 'latest.db'));
  await lutimes(join(directory, 'latest.db'), EPOCH_MS / 1000, EPOCH_MS / 1000);
  await setTime(mediaDir, EPOCH_MS);
  await setTime(directory, EPOCH_MS);
  return {
    chats: CHATS.length,
    messages: options.messages,
    mediaFiles: media.length,
    bytes: mediaBytes(media),
  };
}

/**
 * A day later in the sample history in `directory` (docs/BACKUP.md "Demo"): `messages` new
 * messages are added to the database and about `mediaBytes` of new media files beside the old
 * ones, deterministic from the seed and `day`. Returns what the day added.
 */
export async function addSampleDay(
  directory: string,
  options: SampleOptions & { day: number },
): Promise<SampleSummary> {
  const seed = createHash('sha256').update(`strongroom-demo/${options.seed}/day/${options.day}`).digest();
  const rng = chooser(seed);
  const dayMs = EPOCH_MS + (90 + options.day) * 86_400_000;
  const dbPath = join(directory, 'messages.db');
  const db = new Database(dbPath);
  try {
    const last = db.prepare('SELECT max(id) AS id, max(sent_at) AS at FROM messages').get() as {
      id: number | null;
      at: number | null;
    };
    const { id: lastMedia } = db.prepare('SELECT max(id) AS id FROM media').get() as { id: number | null };
    const media = await writeMedia(directory, rng, seed, {
      first: (lastMedia ?? 0) + 1,
      bytes: options.mediaBytes,
      fromMs: dayMs,
      onProgress: options.onProgress,
    });
    insertMessages(db, rng, media, {
      afterId: last.id ?? 0,
      afterMs: Math.max(last.at ?? EPOCH_MS, dayMs),
      count: options.messages,
    });
    db.close();
    await setTime(dbPath, dayMs + 86_000_000);
    await setTime(join(directory, 'media'), dayMs);
    return {
      chats: CHATS.length,
      messages: options.messages,
      mediaFiles: media.length,
      bytes: mediaBytes(media),
    };
  } finally {
    if (db.open) db.close();
  }
}

const mediaBytes = (media: readonly MediaRow[]) => media.reduce((sum, m) => sum + m.size, 0);
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const setTime = (path: string, ms: number) => utimes(path, ms / 1000, ms / 1000);
