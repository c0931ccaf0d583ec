// An embedded ChatD (the server in this process, real sockets) for one describe block of e2e tests
// that join devices through the SDK: started before the block with the quota it asks for, closed
// and its folder removed after it. The join codes it sends are kept, so a device joins as a user
// would, typing the code it was sent.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { ChatdClient } from '../../src/client/chatd/client.ts';
import { DeviceDir } from '../../src/client/node/chatd-device.ts';
import { openNodeSocket } from '../../src/client/node/chatd-socket.ts';
import { EmbeddedServer } from '../../src/server/embedded.ts';

export class EmbeddedChatd {
  /** The block's folder: the server's data and whatever the tests put there. */
  root = '';
  private started: EmbeddedServer | undefined;
  private readonly codes = new Map<string, string>();

  /** Registers the before/after hooks of the describe block this is called in. */
  static forBlock(prefix: string, quotaBytes: number): EmbeddedChatd {
    const chatd = new EmbeddedChatd();
    before(async () => {
      chatd.root = mkdtempSync(join(tmpdir(), prefix));
      chatd.started = await chatd.startServer('server', quotaBytes);
    });
    after(async () => {
      await chatd.started?.close();
      rmSync(chatd.root, { recursive: true, force: true });
    });
    return chatd;
  }

  get server(): EmbeddedServer {
    if (this.started === undefined) throw new Error('the server starts before the block');
    return this.started;
  }

  /** Another server in `root/name` whose codes are kept with this one's; the caller closes it. */
  startServer(name: string, quotaBytes: number): Promise<EmbeddedServer> {
    return EmbeddedServer.start({
      dataDir: join(this.root, name),
      quotaBytes,
      codeSender: { send: async (user, code) => void this.codes.set(user, code) },
    });
  }

  /** A device of `user` in `root/name`, joined to `on` with the code it sent (the SDK's join). */
  async joinDevice(user: string, name: string, on = this.server): Promise<DeviceDir> {
    const device = await DeviceDir.create(join(this.root, name), {
      server: on.url,
      userId: user,
      fleetPub: readFileSync(on.fleetPubPath, 'utf8'),
    });
    const client = await ChatdClient.connect({
      url: on.url,
      identity: device.identity(),
      openSocket: openNodeSocket,
    });
    try {
      await client.requestJoinCode();
      await client.submitJoinCode(this.codes.get(user)!);
    } finally {
      client.close();
    }
    return device;
  }
}
