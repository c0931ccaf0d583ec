// The CLI's lazy command loading (src/cli/command-groups.ts): each group declares exactly the
// top-level commands it registers, a named command loads only its groups, `--version` none (and
// prints package.json's version), and help without a command still lists every command.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Command } from 'commander';
import { commandGroups, groupsFor, registerGroups } from '../../src/cli/command-groups.ts';
import { runCli } from '../helpers/cli.ts';

const { version: packageVersion } = JSON.parse(
  readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
) as { version: string };

const namesOf = (program: Command) => program.commands.map((command) => command.name()).sort();

describe('command groups', () => {
  it('each group declares exactly the commands it registers', async () => {
    for (const group of commandGroups) {
      const alone = new Command('strongroom');
      // A group that adds to another group's command (vault adds `fleet repair`) is loaded with it.
      await registerGroups(alone, groupsFor([group.commands[0]!]));
      const registered = new Set(namesOf(alone));
      for (const name of group.commands) assert.ok(registered.has(name), `${name} not registered`);
      const own = new Command('strongroom');
      (await group.load())(own);
      for (const name of namesOf(own)) assert.ok(group.commands.includes(name), `${name} not declared`);
    }
  });

  it('a named command gets every subcommand any group adds to it', async () => {
    const all = new Command('strongroom');
    await registerGroups(all, commandGroups);
    for (const command of all.commands) {
      const lazy = new Command('strongroom');
      await registerGroups(lazy, groupsFor([command.name(), '--help']));
      const loaded = lazy.commands.find((candidate) => candidate.name() === command.name());
      assert.ok(loaded, command.name());
      assert.equal(loaded.helpInformation(), command.helpInformation());
    }
  });

  it('loads every group for no command, an option first, `help` or an unknown command', () => {
    for (const args of [[], ['--help'], ['-h', 'backup'], ['help', 'backup'], ['bakup']]) {
      assert.equal(groupsFor(args), commandGroups, args.join(' '));
    }
    assert.deepEqual(
      groupsFor(['encrypt', '-o', 'x']).map((group) => group.commands),
      [['encrypt', 'decrypt']],
    );
  });

  it('`--version` loads no group and still prints the version', async () => {
    assert.deepEqual(groupsFor(['--version']), []);
    assert.deepEqual(groupsFor(['-V']), []);
    for (const flag of ['--version', '-V']) {
      const version = await runCli([flag]);
      assert.equal(version.code, 0);
      assert.equal(version.stdout, `${packageVersion}\n`);
    }
  });

  it('`strongroom --help` lists every command; an unknown one gets a suggestion', async () => {
    const help = await runCli(['--help']);
    assert.equal(help.code, 0);
    for (const group of commandGroups)
      for (const name of group.commands) assert.match(help.stdout, new RegExp(`^  ${name}\\b`, 'm'));
    const typo = await runCli(['bakup']);
    assert.equal(typo.code, 2);
    assert.equal(
      typo.stderr,
      [
        "strongroom: error: unknown command 'bakup'",
        'strongroom: hint: did you mean backup?',
        'strongroom: hint: run `strongroom --help` for usage',
        '',
      ].join('\n'),
    );
  });

  it("the option parser's errors have the `strongroom: error:` / `hint:` form and exit 2", async () => {
    const unknown = await runCli(['backup', 'create', '--bogus']);
    assert.equal(unknown.code, 2);
    assert.equal(
      unknown.stderr,
      [
        "strongroom: error: unknown option '--bogus'",
        'strongroom: hint: run `strongroom backup create --help` for usage',
        '',
      ].join('\n'),
    );
    const missing = await runCli(['account', 'info']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /^strongroom: error: required option '--device <dir>' not specified\n/);
    assert.match(missing.stderr, /^strongroom: hint: run `strongroom account info --help` for usage$/m);
  });
});
