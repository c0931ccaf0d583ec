// The installable package (docs/API.md "Installing"): `npm pack` of a copy of the project, the
// tarball installed into a new project, and that project using it as a consumer would. It checks
// what the tarball holds, that every entry point resolves in Node and under TypeScript (strict, with
// NodeNext and with Bundler resolution), runs the README's SDK example as written, type-checks
// every example of docs/API.md, runs the CLI through `npx` and from another folder, and bundles
// `strongroom/client` and `strongroom/client/repository` for the browser with esbuild, recording
// the bundle sizes (docs/API.md "Bundle sizes").
//
// The install is offline-first: the new project gets a lockfile made from the repository's own
// (its production entries, with their integrity), so npm takes every tarball from the npm cache
// that `npm ci` of the repository filled, and reaches the registry only for what is missing.
// Install scripts are skipped: the native add-ons (better-sqlite3, pkcs11js) would download
// prebuilt binaries or compile, and nothing run here loads them; `strongroom/server`, which does,
// is therefore checked by its types and files only.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readdir, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';

const repo = join(import.meta.dirname, '..', '..');
const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
/** Generous: packing compiles the whole of src/ with tsc, on a machine shared with other tests. */
const STEP_TIMEOUT_MS = 10 * 60_000;

/** What `strongroom/client` exports: the documented surface (docs/API.md "strongroom/client"). */
const CLIENT_NAMES = [
  'BackupKey',
  'BlobNotFoundError',
  'DamagedBackupError',
  'LockedError',
  'NoRecordError',
  'StrongroomError',
  'TamperingError',
  'UnavailableError',
  'UsageError',
  'WrongKeyError',
  'WrongPasswordError',
  'decryptStream',
  'decryptWebStream',
  'downloadBackup',
  'encryptStream',
  'encryptWebStream',
  'findBackup',
  'listBackups',
  'readArchive',
  'uploadBackup',
  'webCodec',
  'webCrypto',
  'writeArchive',
];

/** What `strongroom/client/repository` exports (docs/API.md "strongroom/client/repository"). */
const REPOSITORY_NAMES = [
  'ContentDefinedChunker',
  'DEFAULT_CHUNK_SIZES',
  'LockLapsedError',
  'ObjectType',
  'QuotaTooSmallError',
  'Repository',
  'RepositoryBusyError',
  'RepositoryReader',
  'RepositoryWriter',
  'UploadTracker',
  'checkRepository',
  'encodeTree',
  'escapeName',
  'escapePath',
  'forgetSnapshots',
  'fzstdDecompression',
  'keepWithinQuota',
  'keptSnapshots',
  'listSnapshot',
  'measureUpload',
  'parseEscapedName',
  'pruneRepository',
  'retainedBytes',
  'snapshotEntries',
  'splitSnapshotPath',
  'withWriterLock',
];

/** Upper bound for a minified browser bundle that only encrypts and decrypts (it is ~8 KiB). */
const CRYPT_BUNDLE_MAX_BYTES = 24 * 1024;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; never rejects on a non-zero exit, so each caller asserts its code. */
function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env ?? cleanEnv, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error !== null && typeof error.code !== 'number') reject(error);
        else resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr });
      },
    );
  });
}

/**
 * This process's environment without what an enclosing `npm test` set for its own run (its
 * package, lifecycle and project paths), but with the npm cache, registry and user config it used.
 */
const KEPT_NPM_SETTINGS = new Set(['npm_config_cache', 'npm_config_registry', 'npm_config_userconfig']);
const cleanEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([name]) => !name.toLowerCase().startsWith('npm_') || KEPT_NPM_SETTINGS.has(name.toLowerCase()),
  ),
);

function assertRan(result: Run, what: string): void {
  assert.equal(result.code, 0, `${what} failed:\n${result.stdout}\n${result.stderr}`);
}

/** The ```ts fences of a Markdown text, in order. */
function tsFences(markdown: string): string[] {
  return [...markdown.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1] ?? '');
}

let work: string;
let consumer: string;
let installed: string;
let tarballFiles: string[];

before(
  async () => {
    work = await mkdtemp(join(tmpdir(), 'strongroom-pack-'));
    // Pack a copy, so that the build (prepack) never rewrites the dist/ other tests may be using.
    const copy = join(work, 'project');
    const skipped = new Set(['node_modules', 'dist', '.git', '.bench-out', 'tmp']);
    await cp(repo, copy, {
      recursive: true,
      filter: (source) => !skipped.has(relative(repo, source).split('/')[0] ?? ''),
    });
    await symlink(await realpath(join(repo, 'node_modules')), join(copy, 'node_modules'), 'dir');
    const packed = join(work, 'packed');
    await mkdir(packed);
    const pack = await run('npm', ['pack', '--pack-destination', packed], { cwd: copy });
    assertRan(pack, 'npm pack');
    // prepack built it; the prepare that npm pack runs next must not build it again.
    assert.match(pack.stdout, /package build: already built by prepack/);
    const written = await readdir(packed);
    assert.equal(written.length, 1, `npm pack wrote ${written.join(', ')}`);
    const tarball = written[0] as string;
    assert.match(tarball, /^strongroom-.+\.tgz$/);
    const listing = await run('tar', ['-tzf', join(packed, tarball)], { cwd: work });
    assertRan(listing, 'tar -t');
    tarballFiles = listing.stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.replace(/^package\//, ''));

    consumer = join(work, 'consumer');
    await mkdir(consumer);
    await cp(join(packed, tarball), join(consumer, tarball));
    await writeConsumerProject(consumer, tarball);
    assertRan(
      await run('npm', ['ci', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], {
        cwd: consumer,
      }),
      'npm ci of the tarball',
    );
    installed = join(consumer, 'node_modules', 'strongroom');
  },
  { timeout: STEP_TIMEOUT_MS },
);
after(() => rm(work, { recursive: true, force: true }));

/** package.json and a lockfile for a project that depends on the tarball only. */
async function writeConsumerProject(dir: string, tarball: string): Promise<void> {
  const ours = JSON.parse(await readFile(join(repo, 'package.json'), 'utf8'));
  const lock = JSON.parse(await readFile(join(repo, 'package-lock.json'), 'utf8'));
  const registry = (await run('npm', ['config', 'get', 'registry'], { cwd: dir })).stdout.trim();
  const dependencies = { strongroom: `file:${tarball}` };
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(join(dir, tarball)))
    .digest('base64')}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies },
    'node_modules/strongroom': {
      version: ours.version,
      resolved: `file:${tarball}`,
      integrity,
      license: ours.license,
      dependencies: ours.dependencies,
      bin: ours.bin,
      engines: ours.engines,
    },
  };
  for (const [path, entry] of Object.entries<{ dev?: boolean; version: string; resolved?: string }>(
    lock.packages,
  )) {
    if (path === '' || entry.dev) continue;
    // The repository's lockfile omits tarball addresses; without one npm would fetch each package's
    // registry document first, which the cache of a fresh `npm ci` does not hold.
    const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
    const base = name.split('/').at(-1);
    packages[path] = {
      ...entry,
      resolved: entry.resolved ?? `${registry.replace(/\/$/, '')}/${name}/-/${base}-${entry.version}.tgz`,
    };
  }
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies }, null, 2),
  );
  await writeFile(
    join(dir, 'package-lock.json'),
    JSON.stringify({ name: 'consumer', lockfileVersion: 3, requires: true, packages }, null, 2),
  );
}

describe('the packed package', { timeout: STEP_TIMEOUT_MS }, () => {
  it('holds the build, the bin, the types, the web page and docs, and no tests, sources or CI', async () => {
    for (const needed of [
      'package.json',
      'README.md',
      'bin/strongroom.js',
      'dist/src/cli/main.js',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'dist/web/index.html',
      'dist/web/main.js',
      'docs/API.md',
    ]) {
      assert.ok(tarballFiles.includes(needed), `the tarball holds ${needed}`);
    }
    const stray = tarballFiles.filter(
      (file) =>
        !/^(package\.json|README\.md|bin\/strongroom\.js|dist\/src\/.+\.(js|d\.ts)|dist\/web\/[^/]+|docs\/[^/]+\.md)$/.test(
          file,
        ),
    );
    assert.deepEqual(stray, [], 'nothing else is packed (tests, bench, .ci, src, source maps)');
    const manifest = JSON.parse(await readFile(join(installed, 'package.json'), 'utf8'));
    for (const [entry, target] of Object.entries<string | Record<string, string>>(manifest.exports)) {
      const files = typeof target === 'string' ? [target] : Object.values(target);
      if (typeof target !== 'string') assert.ok(target.types?.endsWith('.d.ts'), `${entry} has types`);
      for (const file of files) {
        assert.ok(tarballFiles.includes(file.replace(/^\.\//, '')), `${entry}: ${file} is packed`);
      }
    }
  });

  it('resolves every entry point in Node, and strongroom/client and client/repository export only their documented names', async () => {
    const script = `
      const names = {};
      for (const entry of ['client', 'client/repository', 'client/node', 'client/vault', 'client/chatd', 'format']) {
        names[entry] = Object.keys(await import('strongroom/' + entry)).sort();
      }
      process.stdout.write(JSON.stringify(names));`;
    const result = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: consumer });
    assertRan(result, 'importing the entry points');
    const names: Record<string, string[]> = JSON.parse(result.stdout);
    assert.deepEqual(names.client, CLIENT_NAMES);
    for (const name of CLIENT_NAMES)
      assert.ok(names['client/node']?.includes(name), `client/node has ${name}`);
    assert.deepEqual(names['client/repository'], REPOSITORY_NAMES);
    for (const name of [...REPOSITORY_NAMES, 'createBackup', 'createSnapshot', 'restoreSnapshot']) {
      assert.ok(names['client/node']?.includes(name), `client/node has ${name}`);
    }
    assert.ok(names['client/vault']?.includes('VaultClient'));
    assert.ok(names['client/chatd']?.includes('ChatdClient'));
    assert.ok(names.format?.includes('BackupKey'));
  });

  it('type-checks under TypeScript strict (NodeNext and Bundler) and runs the README example as written', async () => {
    const readme = await readFile(join(installed, 'README.md'), 'utf8');
    const sdk = readme.slice(readme.indexOf('## The SDK'));
    const example = tsFences(sdk)[0] ?? '';
    assert.ok(example.includes("from 'strongroom/client/node'"), 'the README has its SDK example');
    await writeFile(join(consumer, 'readme-example.ts'), example);
    const apiExamples = tsFences(await readFile(join(installed, 'docs', 'API.md'), 'utf8'));
    assert.ok(apiExamples.length >= 5, 'docs/API.md has an example per task');
    const files = ['readme-example.ts'];
    for (const [index, text] of apiExamples.entries()) {
      files.push(`api-example-${index + 1}.ts`);
      await writeFile(join(consumer, `api-example-${index + 1}.ts`), text);
    }
    // Every entry point's types, the server's included (its code needs the native add-ons).
    await writeFile(
      join(consumer, 'entry-points.ts'),
      [
        "import type { BackupKey } from 'strongroom/client';",
        "import type { createBackup, createSnapshot, restoreSnapshot } from 'strongroom/client/node';",
        "import type { Repository, SnapshotEntry, SnapshotInfo } from 'strongroom/client/repository';",
        "import type { VaultClient, VaultRecordStatus } from 'strongroom/client/vault';",
        "import type { ChatdClient } from 'strongroom/client/chatd';",
        "import type { Header } from 'strongroom/format';",
        "import type { EmbeddedServer } from 'strongroom/server';",
        "const state: VaultRecordStatus['status'] = 'locked';",
        'export type All = [BackupKey, typeof createBackup, VaultClient, ChatdClient, Header, EmbeddedServer];',
        'export type Repositories = [Repository, SnapshotInfo, SnapshotEntry, typeof createSnapshot, typeof restoreSnapshot];',
        'export { state };',
      ].join('\n'),
    );
    files.push('entry-points.ts');
    const common = {
      strict: true,
      target: 'ES2022',
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      types: ['node'],
      // @types/node comes from the repository: the consumer installed only the package.
      typeRoots: [join(await realpath(join(repo, 'node_modules')), '@types')],
    };
    // The NodeNext run also checks the package's own .d.ts files (skipLibCheck off) and emits the
    // JavaScript run below; the Bundler run checks resolution only. They run side by side.
    const configs = {
      'tsconfig.json': {
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        outDir: 'build',
        skipLibCheck: false,
      },
      'tsconfig.bundler.json': {
        module: 'Preserve',
        moduleResolution: 'Bundler',
        noEmit: true,
        skipLibCheck: true,
      },
    };
    await Promise.all(
      Object.entries(configs).map(async ([name, options]) => {
        await writeFile(
          join(consumer, name),
          JSON.stringify({ compilerOptions: { ...common, ...options }, files }, null, 2),
        );
        assertRan(await run(process.execPath, [tsc, '-p', name], { cwd: consumer }), `tsc -p ${name}`);
      }),
    );
    assertRan(
      await run(process.execPath, [join('build', 'readme-example.js')], { cwd: consumer }),
      'the README example',
    );
    assert.equal(
      await readFile(join(consumer, 'restored', 'chats', 'messages.txt'), 'utf8'),
      'hello from the chat history\n',
    );
    // The docs/API.md examples that need no vault or ChatD server run too (the others read fleet.pub).
    const standalone = apiExamples.flatMap((text, index) => (text.includes('fleet.pub') ? [] : [index + 1]));
    assert.ok(standalone.length >= 4, `standalone examples: ${standalone.join(', ')}`);
    for (const number of standalone) {
      assertRan(
        await run(process.execPath, [join('build', `api-example-${number}.js`)], { cwd: consumer }),
        `docs/API.md example ${number}`,
      );
    }
    assert.equal(await readFile(join(consumer, 'notes.restored.txt'), 'utf8'), 'a file to keep\n');
    // The repository example restored the first of its two snapshots.
    assert.equal(
      await readFile(join(consumer, 'diary-day-one', 'diary', 'messages.txt'), 'utf8'),
      'day one\n',
    );
  });

  it('runs the CLI through npx in the project and from any other folder', async () => {
    const keygen = await run('npx', ['--no-install', 'strongroom', 'keygen'], { cwd: consumer });
    assertRan(keygen, 'npx strongroom keygen');
    assert.match(keygen.stdout, /^[0-9a-f]{4}( [0-9a-f]{4}){15}\n$/);
    await writeFile(join(consumer, 'backup.key'), keygen.stdout);
    const plain = 'a chat database, or any file\n'.repeat(1000);
    await writeFile(join(consumer, 'chats.db'), plain);
    const flags = ['--key-file', 'backup.key', '-o'];
    assertRan(
      await run('npx', ['--no-install', 'strongroom', 'encrypt', ...flags, 'chats.srb', 'chats.db'], {
        cwd: consumer,
      }),
      'npx strongroom encrypt',
    );
    assertRan(
      await run('npx', ['--no-install', 'strongroom', 'decrypt', ...flags, 'again.db', 'chats.srb'], {
        cwd: consumer,
      }),
      'npx strongroom decrypt',
    );
    assert.equal(await readFile(join(consumer, 'again.db'), 'utf8'), plain);
    const elsewhere = await mkdtemp(join(tmpdir(), 'strongroom-pack-cwd-'));
    try {
      const bin = join(consumer, 'node_modules', '.bin', 'strongroom');
      const far = await run(
        bin,
        ['decrypt', '--key-file', join(consumer, 'backup.key'), join(consumer, 'chats.srb')],
        {
          cwd: elsewhere,
        },
      );
      assertRan(far, 'the bin from another folder');
      assert.equal(far.stdout, plain);
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it('bundles for the browser, with OPAQUE only in the vault entry point and repositories only in theirs', async (t) => {
    const bundle = async (contents: string) => {
      const result = await build({
        stdin: { contents, resolveDir: consumer, loader: 'js' },
        absWorkingDir: consumer,
        bundle: true,
        minify: true,
        format: 'esm',
        platform: 'browser',
        write: false,
        metafile: true,
        logLevel: 'silent',
      });
      const inputs = Object.keys(result.metafile.inputs);
      return {
        bytes: result.outputFiles[0]?.contents.length ?? 0,
        opaque: inputs.some((input) => input.includes('@serenity-kit/opaque')),
        repository: inputs.some((input) => input.includes('client/repository/') || input.includes('fzstd')),
      };
    };
    const crypt = await bundle(
      "import { BackupKey, decryptWebStream, encryptWebStream } from 'strongroom/client';\n" +
        'globalThis.app = { BackupKey, decryptWebStream, encryptWebStream };',
    );
    const client = await bundle("export * from 'strongroom/client';");
    const chatd = await bundle("export * from 'strongroom/client/chatd';");
    const vault = await bundle("export * from 'strongroom/client/vault';");
    const restore = await bundle(
      "import { BackupKey, webCrypto } from 'strongroom/client';\n" +
        "import { listSnapshot, Repository, RepositoryReader, snapshotEntries } from 'strongroom/client/repository';\n" +
        'globalThis.app = { BackupKey, webCrypto, listSnapshot, Repository, RepositoryReader, snapshotEntries };',
    );
    const repository = await bundle("export * from 'strongroom/client/repository';");
    t.diagnostic(
      `minified browser bundles (bytes): encrypt/decrypt only ${crypt.bytes}, strongroom/client ${client.bytes}, ` +
        `restore from a repository ${restore.bytes}, strongroom/client/repository ${repository.bytes}, ` +
        `strongroom/client/chatd ${chatd.bytes}, strongroom/client/vault ${vault.bytes}`,
    );
    assert.equal(crypt.repository, false, 'encrypt/decrypt bundles no repository code');
    assert.equal(client.repository, false, 'strongroom/client bundles no repository code');
    assert.equal(repository.repository, true, 'the repository entry brings its code');
    assert.equal(repository.opaque, false, 'strongroom/client/repository does not bundle OPAQUE');
    assert.ok(
      crypt.bytes > 0 && crypt.bytes <= CRYPT_BUNDLE_MAX_BYTES,
      `encrypt/decrypt bundle: ${crypt.bytes} bytes`,
    );
    assert.equal(crypt.opaque, false, 'encrypt/decrypt does not bundle OPAQUE');
    assert.equal(client.opaque, false, 'strongroom/client does not bundle OPAQUE');
    assert.equal(chatd.opaque, false, 'strongroom/client/chatd does not bundle OPAQUE');
    assert.equal(vault.opaque, true, 'the vault client brings OPAQUE');
  });
});
