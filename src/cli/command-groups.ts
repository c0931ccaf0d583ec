// The CLI's command groups (README "CLI") and which top-level commands each adds, so that
// src/cli/main.ts imports only the module of the command being run: importing every group costs
// about a second of start-up and ~90 MiB of memory (docs/BENCHMARKS.md "Backup stream").
// test/cli/main.test.ts checks that `commands` lists exactly what each group registers.
import type { Command } from 'commander';

export interface CommandGroup {
  /** The top-level commands the group registers or adds subcommands to. */
  readonly commands: readonly string[];
  /** Imports the group's module and returns its registration function. */
  readonly load: () => Promise<(program: Command) => void>;
}

// Keep this list in the order `--help` should show the commands. To add a group: one entry here.
export const commandGroups: readonly CommandGroup[] = [
  { commands: ['demo'], load: async () => (await import('./commands/demo.ts')).registerDemo },
  { commands: ['keygen'], load: async () => (await import('./commands/keygen.ts')).registerKeygen },
  { commands: ['encrypt', 'decrypt'], load: async () => (await import('./commands/crypt.ts')).registerCrypt },
  { commands: ['backup'], load: async () => (await import('./commands/backup.ts')).registerBackup },
  { commands: ['account'], load: async () => (await import('./commands/account.ts')).registerAccount },
  { commands: ['server'], load: async () => (await import('./commands/server.ts')).registerServer },
  { commands: ['chatd'], load: async () => (await import('./commands/chatd.ts')).registerChatd },
  { commands: ['fleet'], load: async () => (await import('./commands/fleet.ts')).registerFleet },
  // `vault` also adds `fleet repair`, so it is loaded for `fleet` too (after the fleet group).
  { commands: ['vault', 'fleet'], load: async () => (await import('./commands/vault.ts')).registerVault },
  { commands: ['web'], load: async () => (await import('./commands/web.ts')).registerWeb },
];

/**
 * The groups a command line needs: those adding its first argument when that names a command;
 * none for `--version` (the program's own option, answered before any command is looked at);
 * else every group (no command, `help`, another option first, or an unknown command: help and
 * "did you mean" suggestions must see every command).
 */
export function groupsFor(args: readonly string[]): readonly CommandGroup[] {
  const first = args[0];
  if (first === '--version' || first === '-V') return [];
  const named = commandGroups.filter((group) => first !== undefined && group.commands.includes(first));
  return named.length > 0 ? named : commandGroups;
}

/** Imports `groups` (concurrently) and registers them on `program` in list order. */
export async function registerGroups(program: Command, groups: readonly CommandGroup[]): Promise<void> {
  const registers = await Promise.all(groups.map((group) => group.load()));
  for (const register of registers) register(program);
}
