// Mutation testing of the trusted code (docs/MUTATION.md): the HSM core and the device's tamper
// checks. Run with `npm run test:mutation`; subsets with `npx stryker run --mutate src/hsm-core/channel.ts`.
//
// Runner: the TAP runner, not the command runner. The command runner reruns the whole test selection
// for every mutant; the TAP runner runs each test file in its own node process and, with
// coverageAnalysis "perTest", reruns only the files whose run reached the mutant (docs/MUTATION.md
// "Why the TAP runner" has the figures measured on this project).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'tap',
  plugins: ['@stryker-mutator/tap-runner'],
  coverageAnalysis: 'perTest',
  mutate: [
    'src/hsm-core/**/*.ts',
    'src/client/vault/client.ts',
    'src/client/vault/memory.ts',
    'src/client/vault/crypto.ts',
  ],
  mutator: {
    // Refusal details never leave the core (the host learns only the reason) and the client's
    // error messages are for people; tests name the error class or reason, not the wording. Labels
    // and algorithm names are strings too, but a wrong one fails every flow, so skipping string
    // mutants loses no check and saves about a fifth of the run (docs/MUTATION.md "What runs").
    excludedMutations: ['StringLiteral'],
  },
  tap: {
    // The core's own tests and the vault client's (real fleets in-process: software keystores,
    // NVRAM files, SQLite), except two slow files whose checks lie outside the mutated code:
    // argon2.test.ts (real 64 MiB Argon2id, about 25 s) and relay.test.ts (every byte of a frame
    // flipped, about 40 s) test the stretching parameters and src/client/vault/channel.ts. The vault
    // host's suite (test/vault-host) reaches the core too, but its files start fleets for tens of
    // seconds each and a surviving mutant reruns every file that reached it: the trusted code's
    // mutants must be killed by the files below (docs/MUTATION.md "What runs").
    testFiles: ['test/hsm-core/**/*.test.ts', 'test/client/vault/!(argon2|relay).test.ts'],
    // Each file runs as `node --import tsx FILE` (node's test runner in-process, TAP on stdout), with
    // Stryker's hook required first so coverage and the active mutant reach the file's process.
    nodeArgs: ['--import', 'tsx', '--test-reporter=tap', '-r', '{{hookFile}}', '{{testFile}}'],
    forceBail: true,
  },
  // This machine class (2 shared cores) runs at most two test processes at once.
  concurrency: 2,
  // Test files start SoftHSM2-free software fleets and real SQLite stores: allow slow starts on a
  // busy machine rather than call a slow run a timeout.
  timeoutMS: 60000,
  timeoutFactor: 3,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
  ignorePatterns: ['dist', '.bench-out', 'reports'],
};
