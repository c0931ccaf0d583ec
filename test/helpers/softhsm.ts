// A throw-away SoftHSM2 token directory for tests: writes a softhsm2.conf in a temp directory, points
// SOFTHSM2_CONF at it (in this process, and in `env` for child processes), and initialises the tokens
// asked for with `softhsm2-util --init-token --free`. SoftHSM2 reads SOFTHSM2_CONF at C_Initialize,
// so create the fixture before the first PKCS#11 call of the test process.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SOFTHSM2_MODULE = process.env.SOFTHSM2_MODULE ?? '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmFixture {
  /** The temp directory (config and tokens); removed by cleanup(). */
  dir: string;
  modulePath: string;
  userPin: string;
  soPin: string;
  /** Environment for child processes (SOFTHSM2_CONF). */
  env: Record<string, string>;
  /** Initialises one more token with the fixture's PINs. */
  initToken(label: string): void;
  cleanup(): void;
}

export function createSoftHsm(
  labels: readonly string[] = [],
  pins = { user: '1234', so: '123456' },
): SoftHsmFixture {
  const dir = mkdtempSync(join(tmpdir(), 'strongroom-softhsm-'));
  const tokenDir = join(dir, 'tokens');
  mkdirSync(tokenDir);
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${tokenDir}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = conf;
  const env = { SOFTHSM2_CONF: conf };
  const initToken = (label: string) => {
    execFileSync(
      'softhsm2-util',
      ['--init-token', '--free', '--label', label, '--pin', pins.user, '--so-pin', pins.so],
      { env: { ...process.env, ...env }, stdio: 'pipe' },
    );
  };
  for (const label of labels) initToken(label);
  return {
    dir,
    modulePath: SOFTHSM2_MODULE,
    userPin: pins.user,
    soPin: pins.so,
    env,
    initToken,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}
