// Vault benchmark (docs/BENCHMARKS.md "Vault, embedded 3-node fleet"): server-side register and recover latency
// (p50/p99) and recoveries per second for the embedded 3-node fleet over SQLite, with the client's
// KSF excluded (the time counted is the vault host's handling of each frame, in process); the
// client's full recovery time with Argon2id 64 MiB over HTTP; and a per-recovery CPU breakdown.
// Reference in the same run: OPAQUE's server login (startLogin + finishLogin), the irreducible step.
import type { CipherSuite } from '@hpke/core';
import * as opaque from '@serenity-kit/opaque';
import { DEFAULT_ARGON2ID, VaultClient } from '../src/client/vault/client.ts';
import { HttpVaultTransport } from '../src/client/vault/http-transport.ts';
import type { VaultTransport } from '../src/client/vault/transport.ts';
import type { CorePrimitives, KeyStore, Nvram } from '../src/hsm-core/platform.ts';
import { nodePrimitives } from '../src/hsm-platform/primitives.ts';
import type { RecordStore } from '../src/stores/record/record-store.ts';
import { VaultHttpServer } from '../src/vault-host/http-server.ts';
import { InProcessFleet } from '../src/vault-host/in-process-fleet.ts';
import { startTestFleet, TEST_ARGON2ID, type TestFleet } from '../test/vault-host/helpers/fleet.ts';
import { fixed, median, quantile } from './stats.ts';

const RECOVERIES = 200;
const REGISTRATIONS = 50;

/** Accumulated milliseconds per component while `on` is true. */
class Meter {
  on = false;
  readonly ms = new Map<string, number>();
  readonly calls = new Map<string, number>();
  add(name: string, started: number): void {
    if (!this.on) return;
    this.ms.set(name, (this.ms.get(name) ?? 0) + performance.now() - started);
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1);
  }
  timeSync<T>(name: string, work: () => T): T {
    const started = performance.now();
    try {
      return work();
    } finally {
      this.add(name, started);
    }
  }
  async time<T>(name: string, work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } finally {
      this.add(name, started);
    }
  }
}

function meteredPrimitives(meter: Meter): CorePrimitives {
  const p = nodePrimitives;
  return {
    ...p,
    ed25519Sign: (k, m) => meter.timeSync('signatures and certificates', () => p.ed25519Sign(k, m)),
    ed25519Verify: (k, m, s) => meter.timeSync('signatures and certificates', () => p.ed25519Verify(k, m, s)),
  };
}

function meteredKeystore(meter: Meter, keystore: KeyStore): KeyStore {
  return {
    description: keystore.description,
    seal: (pt, aad) => meter.time('record sealing (keystore)', () => keystore.seal(pt, aad)),
    open: (ct, aad) => meter.time('record sealing (keystore)', () => keystore.open(ct, aad)),
    secret: (name) => keystore.secret(name),
  };
}

const NVRAM_WAIT = 'NVRAM marks: put until durable (wall time, overlaps the other core)';
const STORE_WAIT = 'record store: call until it resolves (wall time)';

function meteredNvram(meter: Meter, nvram: Nvram): Nvram {
  return {
    get: (key) => nvram.get(key),
    put: (key, value) => meter.time(NVRAM_WAIT, () => nvram.put(key, value)),
    entries: (prefix) => nvram.entries(prefix),
  };
}

/** The platform's HPKE suite with its recipient side (what the cores use) timed. */
function meteredHpke(meter: Meter, suite: CipherSuite): CipherSuite {
  const metered = Object.create(suite) as CipherSuite;
  metered.createRecipientContext = async (params) => {
    const context = await meter.time('HPKE (open requests)', () => suite.createRecipientContext(params));
    return Object.assign(Object.create(context), {
      open: (data: ArrayBuffer, aad?: ArrayBuffer) =>
        meter.time('HPKE (open requests)', () => context.open(data, aad)),
      export: (label: ArrayBuffer, length: number) =>
        meter.time('HPKE (open requests)', () => context.export(label, length)),
    });
  };
  return metered;
}

function meteredStore(meter: Meter, store: RecordStore): RecordStore {
  return {
    get: (id) => meter.time(STORE_WAIT, () => store.get(id)),
    compareAndSet: (id, expected, next) =>
      meter.time(STORE_WAIT, () => store.compareAndSet(id, expected, next)),
    ids: () => store.ids(),
    ping: () => store.ping(),
    close: () => store.close(),
  };
}

export default async function (): Promise<string> {
  await opaque.ready;
  const meter = new Meter();
  const t = await startTestFleet({ maxGuessLimit: 255 });
  try {
    // Rebuild the fleet's cores over metered platforms (same keys, same files).
    t.fleet.stop();
    const fleet = await InProcessFleet.start({
      nodes: t.platforms.map((platform) => ({
        platform: {
          ...platform,
          crypto: meteredPrimitives(meter),
          keystore: meteredKeystore(meter, platform.keystore),
          nvram: meteredNvram(meter, platform.nvram),
          hpke: meteredHpke(meter, platform.hpke),
        },
        sealedConfig: t.ceremony.sealedConfig,
      })),
      store: meteredStore(meter, t.store),
      quorum: t.ceremony.config.quorum,
    });
    const coordinator = fleet.coordinator(0);
    // Server time: the coordinator's handling of each frame, in process (no HTTP, no client KSF).
    // Server CPU: this process's CPU time (every thread) while a frame is handled; the client does
    // nothing meanwhile (it awaits the answer).
    let serverMs = 0;
    let serverCpuUs = 0;
    const direct: VaultTransport = {
      async exchange(frame) {
        const started = performance.now();
        const cpu = process.cpuUsage();
        const response = await coordinator.handle(frame);
        const used = process.cpuUsage(cpu);
        serverCpuUs += used.user + used.system;
        serverMs += performance.now() - started;
        return response;
      },
    };
    const client = new VaultClient({ fleet: t.publicInfo, transport: direct, argon2id: TEST_ARGON2ID });
    const key = nodePrimitives.randomBytes(32);

    const register: number[] = [];
    for (let i = 0; i < REGISTRATIONS; i++) {
      serverMs = 0;
      await client.enable(nodePrimitives.randomBytes(16), 'benchmark password', key, 255);
      register.push(serverMs);
    }
    const recordId = nodePrimitives.randomBytes(16);
    await client.enable(recordId, 'benchmark password', key, 255);
    for (let i = 0; i < 10; i++) await client.recover(recordId, 'benchmark password'); // warm-up
    const recover: number[] = [];
    const syncsBefore = durableWrites(t);
    serverCpuUs = 0;
    meter.on = true;
    for (let i = 0; i < RECOVERIES; i++) {
      serverMs = 0;
      await client.recover(recordId, 'benchmark password');
      recover.push(serverMs);
    }
    meter.on = false;
    const cpuPerRecovery = serverCpuUs / 1000 / RECOVERIES;
    const syncs = durableWrites(t);
    const storeSyncs = (syncs.store - syncsBefore.store) / RECOVERIES;
    const nvramSyncs = (syncs.nvram - syncsBefore.nvram) / RECOVERIES;
    const totalServer = recover.reduce((a, b) => a + b, 0);

    // Reference: OPAQUE's server login alone, the same number of times.
    const reference = opaqueLoginReference();

    // Client's full recovery with the real Argon2id parameters, over real HTTP.
    const server = await VaultHttpServer.listen(fleet.coordinator(0));
    const httpClient = new VaultClient({
      fleet: t.publicInfo,
      transport: new HttpVaultTransport(server.url),
      argon2id: DEFAULT_ARGON2ID,
    });
    const realId = nodePrimitives.randomBytes(16);
    await httpClient.enable(realId, 'benchmark password', key, 255);
    // Transport: the same status request in process and over HTTP (loopback, keep-alive fetch).
    const statusTimes = async (c: VaultClient) => {
      const times: number[] = [];
      for (let i = 0; i < 50; i++) {
        const started = performance.now();
        await c.status(realId);
        times.push(performance.now() - started);
      }
      return median(times);
    };
    const viaHttp = await statusTimes(httpClient);
    const inProcess = await statusTimes(new VaultClient({ fleet: t.publicInfo, transport: direct }));
    const transportPerFrame = Math.max(0, viaHttp - inProcess);
    const full: number[] = [];
    for (let i = 0; i < 3; i++) {
      const started = performance.now();
      await httpClient.recover(realId, 'benchmark password');
      full.push(performance.now() - started);
    }
    await server.close();
    fleet.stop();

    const perRecovery = (name: string) => (meter.ms.get(name) ?? 0) / RECOVERIES;
    const computed = ['HPKE (open requests)', 'signatures and certificates', 'record sealing (keystore)'];
    const computedSum = computed.reduce((sum, name) => sum + perRecovery(name), 0);
    // A quorum of endorsers (quorum-first fanout) and the answering core; the proposer only opens
    // the login state.
    const opaqueCalls = { startLogin: 1, finishLogin: t.ceremony.config.quorum + 1 };
    const opaqueMs =
      opaqueCalls.startLogin * reference.startLogin + opaqueCalls.finishLogin * reference.finishLogin;
    const p50 = median(recover);
    const lines = [
      '## Vault',
      '',
      `Embedded fleet: ${t.ceremony.config.members.length} cores in one process, quorum ${t.ceremony.config.quorum}, SQLite record store, one NVRAM file per node, node:crypto HPKE suite. Server time = vault host handling of each frame in process (client KSF excluded).`,
      '',
      '| measure | p50 | p99 |',
      '|---|---|---|',
      `| server-side register (2 frames) | ${fixed(median(register))} ms | ${fixed(quantile(register, 0.99))} ms |`,
      `| server-side recover (2 frames, spend + refund certified) | ${fixed(p50)} ms | ${fixed(quantile(recover, 0.99))} ms |`,
      `| reference: OPAQUE server login alone (startLogin + finishLogin) | ${fixed(reference.startLogin + reference.finishLogin)} ms | |`,
      `| client full recovery, Argon2id 64 MiB/3/1, over HTTP | ${fixed(median(full))} ms | |`,
      '',
      `Recoveries per second (one host thread, sequential): ${fixed(1000 / (totalServer / RECOVERIES), 0)}. Server recover p50 / OPAQUE login: ${fixed(p50 / (reference.startLogin + reference.finishLogin))}×. Goal: p50 ≤ 10 ms — ${p50 <= 10 ? 'met' : 'NOT met'}.`,
      '',
      'Per-recovery CPU breakdown (mean ms per recovery):',
      '',
      '| component | ms | calls per recovery |',
      '|---|---|---|',
      `| OPAQUE (1 startLogin, ${opaqueCalls.finishLogin} finishLogin: quorum endorsers, answer; from the reference) | ${fixed(opaqueMs)} | ${opaqueCalls.startLogin + opaqueCalls.finishLogin} |`,
      ...computed.map(
        (name) =>
          `| ${name} | ${fixed(perRecovery(name))} | ${fixed((meter.calls.get(name) ?? 0) / RECOVERIES, 1)} |`,
      ),
      `| codecs, response seal, SQLite calls, coordinator, event loop (rest of the server CPU) | ${fixed(Math.max(0, cpuPerRecovery - computedSum - opaqueMs))} | |`,
      `| **server CPU per recovery (all threads, while frames are handled)** | ${fixed(cpuPerRecovery)} | |`,
      `| everything but OPAQUE (goal: less than OPAQUE's server login, ${fixed(reference.startLogin + reference.finishLogin)} ms) | ${fixed(cpuPerRecovery - opaqueMs)} | |`,
      `| ${NVRAM_WAIT} | ${fixed(perRecovery(NVRAM_WAIT))} | ${fixed((meter.calls.get(NVRAM_WAIT) ?? 0) / RECOVERIES, 1)} |`,
      `| ${STORE_WAIT} | ${fixed(perRecovery(STORE_WAIT))} | ${fixed((meter.calls.get(STORE_WAIT) ?? 0) / RECOVERIES, 1)} |`,
      `| fdatasyncs per recovery: NVRAM (all nodes) / record store | ${fixed(nvramSyncs, 1)} / ${fixed(storeSyncs, 1)} | |`,
      `| transport: HTTP on loopback per frame × 2 frames (not in server time) | ${fixed(2 * transportPerFrame)} | 2 |`,
    ];
    return lines.join('\n');
  } finally {
    await t.close();
  }
}

/** fdatasyncs so far: every node's NVRAM file, and the record store. */
function durableWrites(t: TestFleet): { nvram: number; store: number } {
  return {
    nvram: t.nvrams.reduce((sum, nvram) => sum + nvram.durableWrites, 0),
    store: t.store.durableWrites,
  };
}

/** OPAQUE server login costs alone (median ms), over the library's WASM. */
function opaqueLoginReference(): { startLogin: number; finishLogin: number } {
  const serverSetup = opaque.server.createSetup();
  const { clientRegistrationState, registrationRequest } = opaque.client.startRegistration({
    password: 'pw',
  });
  const { registrationResponse } = opaque.server.createRegistrationResponse({
    serverSetup,
    userIdentifier: 'u',
    registrationRequest,
  });
  const { registrationRecord } = opaque.client.finishRegistration({
    clientRegistrationState,
    registrationResponse,
    password: 'pw',
    keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
  });
  const starts: number[] = [];
  const finishes: number[] = [];
  for (let i = 0; i < 100; i++) {
    const { clientLoginState, startLoginRequest } = opaque.client.startLogin({ password: 'pw' });
    let started = performance.now();
    const { serverLoginState, loginResponse } = opaque.server.startLogin({
      serverSetup,
      userIdentifier: 'u',
      registrationRecord,
      startLoginRequest,
    });
    starts.push(performance.now() - started);
    const finished = opaque.client.finishLogin({
      clientLoginState,
      loginResponse,
      password: 'pw',
      keyStretching: { 'argon2id-custom': TEST_ARGON2ID },
    });
    started = performance.now();
    opaque.server.finishLogin({ serverLoginState, finishLoginRequest: finished!.finishLoginRequest });
    finishes.push(performance.now() - started);
  }
  return { startLogin: median(starts), finishLogin: median(finishes) };
}
