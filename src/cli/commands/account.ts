// `strongroom account join | info | approve | remove | require-approval` (docs/CHATD.md "Running it"):
// a device joins an account with a code sent out of band, and manages the account's devices.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { ChatdClient } from '../../client/chatd/client.ts';
import { formatBytes } from '../../client/format-bytes.ts';
import { DeviceDir } from '../../client/node/chatd-device.ts';
import { openNodeSocket } from '../../client/node/chatd-socket.ts';
import { StrongroomError, UsageError } from '../../errors.ts';
import { DeviceState } from '../../protocol/chatd/handshake.ts';
import { checkUserId } from '../../protocol/chatd/message.ts';
import { readLine } from '../password-prompt.ts';

interface JoinOptions {
  server: string;
  fleetKey: string;
  user: string;
  device: string;
}

const STATE_NAMES = { 0: 'unregistered', 1: 'active', 2: 'pending approval' } as const;

async function connect(device: DeviceDir): Promise<ChatdClient> {
  return ChatdClient.connect({ url: device.server, identity: device.identity(), openSocket: openNodeSocket });
}

async function runJoin(options: JoinOptions): Promise<void> {
  try {
    checkUserId('--user', options.user);
  } catch {
    throw new UsageError(`--user ${JSON.stringify(options.user)} must be 1-64 of A-Z a-z 0-9 + . _ @ -`);
  }
  let fleetPub: string;
  try {
    fleetPub = readFileSync(options.fleetKey, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read fleet key '${options.fleetKey}': ${(error as NodeJS.ErrnoException).code}`,
    );
  }
  // A directory left by a join that did not finish (a wrong code) is reused with its key.
  const device = existsSync(join(options.device, 'device.json'))
    ? DeviceDir.open(options.device)
    : await DeviceDir.create(options.device, { server: options.server, userId: options.user, fleetPub });
  if (device.userId !== options.user || device.server !== options.server) {
    throw new UsageError(`${options.device} holds a device of ${device.userId} at ${device.server}`);
  }
  const client = await connect(device);
  try {
    if (client.deviceState !== DeviceState.unregistered) {
      throw new StrongroomError(`this device has already joined ${options.user}`);
    }
    const sent = await client.requestJoinCode();
    const code = (
      await readLine(`a ${sent.codeLength}-digit code was sent to ${options.user}; enter it: `)
    ).trim();
    const state = await client.submitJoinCode(code);
    process.stderr.write(`joined account ${options.user}: this device is ${STATE_NAMES[state]}\n`);
    if (state === DeviceState.pending) {
      process.stderr.write('another device of the account must approve it before it may use the vault\n');
    }
  } finally {
    client.close();
    client.identity.destroy(); // the device secret key's life in this process ends here
  }
}

async function withClient<T>(dir: string, work: (client: ChatdClient) => Promise<T>): Promise<T> {
  const client = await connect(DeviceDir.open(dir));
  try {
    return await work(client);
  } finally {
    client.close();
    client.identity.destroy(); // the device secret key's life in this process ends here
  }
}

async function runInfo(options: { device: string; json?: boolean }): Promise<void> {
  await withClient(options.device, async (client) => {
    const info = await client.accountInfo();
    const self = Buffer.from(client.identity.publicKey).toString('hex');
    const devices = info.devices.map((d) => ({
      key: Buffer.from(d.publicKey).toString('hex'),
      state: STATE_NAMES[d.state],
      joined: new Date(Number(d.joinedAtMs)).toISOString(),
      self: Buffer.from(d.publicKey).toString('hex') === self,
    }));
    if (options.json) {
      const usage = { quotaBytes: Number(info.quotaBytes), usedBytes: Number(info.usedBytes) };
      process.stdout.write(
        `${JSON.stringify({ requireApproval: info.requireApproval, ...usage, devices }, null, 2)}\n`,
      );
      return;
    }
    process.stdout.write(`require approval: ${info.requireApproval ? 'on' : 'off'}\n`);
    process.stdout.write(
      `storage: ${formatBytes(Number(info.usedBytes))} of ${formatBytes(Number(info.quotaBytes))}\n`,
    );
    for (const d of devices)
      process.stdout.write(`${d.key}  ${d.state}  ${d.joined}${d.self ? '  (this device)' : ''}\n`);
  });
}

/** The one device of the account whose key (hex) starts with `prefix`. */
async function deviceByPrefix(client: ChatdClient, prefix: string): Promise<Uint8Array> {
  if (!/^[0-9a-f]{4,64}$/i.test(prefix)) throw new UsageError('give at least 4 hex digits of the device key');
  const matches = (await client.accountInfo()).devices.filter((d) =>
    Buffer.from(d.publicKey).toString('hex').startsWith(prefix.toLowerCase()),
  );
  if (matches.length !== 1) {
    throw new UsageError(`${matches.length} devices match ${prefix}`, {
      hints: ['`account info` lists them'],
    });
  }
  return matches[0]!.publicKey;
}

export function registerAccount(program: Command): void {
  const account = program.command('account').description('join an account and manage its devices');
  account
    .command('join')
    .description('join this device to an account: a code is sent out of band, then read from stdin')
    .requiredOption('--server <url>', 'ChatD URL, e.g. ws://127.0.0.1:8470/v1/chatd')
    .requiredOption('--fleet-key <file>', "the fleet's public key file (fleet.pub) to pin")
    .requiredOption('--user <id>', 'the account (user id)')
    .requiredOption('--device <dir>', "this device's state directory (made now)")
    .action(runJoin);
  account
    .command('info')
    .description("the account's devices, approval setting and storage use")
    .requiredOption('--device <dir>', "this device's state directory")
    .option('--json', 'machine-readable output')
    .action(runInfo);
  account
    .command('approve')
    .description('let a pending device use the vault')
    .requiredOption('--device <dir>', "this device's state directory")
    .argument('<key>', 'the pending device key (a unique hex prefix)')
    .action((key: string, options: { device: string }) =>
      withClient(options.device, async (client) =>
        client.decideDevice(await deviceByPrefix(client, key), true),
      ),
    );
  account
    .command('remove')
    .description('remove another device from the account')
    .requiredOption('--device <dir>', "this device's state directory")
    .argument('<key>', 'the device key (a unique hex prefix)')
    .action((key: string, options: { device: string }) =>
      withClient(options.device, async (client) =>
        client.decideDevice(await deviceByPrefix(client, key), false),
      ),
    );
  account
    .command('require-approval')
    .description('on: new devices wait for approval by an existing device before using the vault')
    .requiredOption('--device <dir>', "this device's state directory")
    .argument('<setting>', 'on or off')
    .action((setting: string, options: { device: string }) => {
      if (setting !== 'on' && setting !== 'off') throw new UsageError('require-approval takes on or off');
      return withClient(options.device, (client) => client.setRequireApproval(setting === 'on'));
    });
}
