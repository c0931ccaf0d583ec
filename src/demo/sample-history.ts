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

/** Writes the sample history into `directory` (created; must not exist or be empty). */
export async function generateSampleHistory(
  directory: string,
  options: SampleOptions,
): Promise<SampleSummary> {
  const seed = createHash('sha256').update(`strongroom-demo/${options.seed}`).digest();
  const rng = chooser(seed);
  // Media content: AES-256-CTR keystream under the seed, as incompressible as real photos and video.
  const keystream = createCipheriv('aes-256-ctr', seed, Buffer.alloc(16));
  const mediaDir = join(directory, 'media');
  await mkdir(mediaDir, { recursive: true });

  const media: { id: number; chat: number; path: string; mime: string; size: number; sha256: string }[] = [];
  let mediaBytes = 0;
  while (mediaBytes < options.mediaBytes) {
    const kind = MEDIA_KINDS[rng.int(MEDIA_KINDS.length)]!;
    const size = Math.min(
      kind.min + rng.int(kind.max - kind.min),
      options.mediaBytes - mediaBytes + kind.min,
    );
    const chat = rng.int(CHATS.length);
    const path = `media/${String(media.length + 1).padStart(5, '0')}.${kind.ext}`;
    const content = keystream.update(Buffer.alloc(size));
    await writeFile(join(directory, path), content, { mode: 0o640 });
    await setTime(join(directory, path), EPOCH_MS + media.length * 3_600_000);
    media.push({ id: media.length + 1, chat, path, mime: kind.mime, size, sha256: sha256(content) });
    mediaBytes += size;
    options.onProgress?.(mediaBytes, options.mediaBytes);
  }

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
    const fill = db.transaction(() => {
      const addChat = db.prepare('INSERT INTO chats VALUES (?, ?)');
      for (const [i, title] of CHATS.entries()) addChat.run(i + 1, title);
      const addContact = db.prepare('INSERT INTO contacts VALUES (?, ?)');
      for (const [i, name] of PEOPLE.entries()) addContact.run(i + 1, name);
      const addMedia = db.prepare('INSERT INTO media VALUES (?, ?, ?, ?, ?, ?)');
      for (const m of media) addMedia.run(m.id, m.chat + 1, m.path, m.mime, m.size, m.sha256);
      const addMessage = db.prepare('INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?)');
      let sentAt = EPOCH_MS;
      for (let id = 1; id <= options.messages; id++) {
        sentAt += 1000 + rng.int(1_800_000);
        const words = Array.from({ length: 2 + rng.int(18) }, () => WORDS[rng.int(WORDS.length)]).join(' ');
        const attached = id % 7 === 0 && id / 7 <= media.length ? id / 7 : null;
        const chat = attached === null ? rng.int(CHATS.length) + 1 : media[attached - 1]!.chat + 1;
        addMessage.run(id, chat, rng.int(PEOPLE.length) + 1, sentAt, words, attached);
      }
    });
    fill();
  } finally {
    db.close();
  }
  await setTime(dbPath, EPOCH_MS + 90 * 86_400_000);
  await symlink('messages.db', join(directory, 'latest.db'));
  await lutimes(join(directory, 'latest.db'), EPOCH_MS / 1000, EPOCH_MS / 1000);
  await setTime(mediaDir, EPOCH_MS);
  await setTime(directory, EPOCH_MS);
  return { chats: CHATS.length, messages: options.messages, mediaFiles: media.length, bytes: mediaBytes };
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const setTime = (path: string, ms: number) => utimes(path, ms / 1000, ms / 1000);
