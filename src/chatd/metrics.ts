// Optional Prometheus metrics for ChatD (docs/CHATD.md "Logs and metrics"): connections, bytes moved per
// channel, vault node failures, rounds of notification polling. Counts and sizes only, never contents.
import { Counter, Registry } from 'prom-client';

export class ChatdMetrics {
  private readonly registry: Registry;
  readonly connections: Counter;
  readonly bytes: Counter<'channel'>;
  readonly relayFailures: Counter<'node'>;
  readonly notificationPolls: Counter;

  /** `registry`: where the counters are registered and what render() serves (a shared one lets the
   * embedded server serve its vault metrics next to ChatD's). */
  constructor(registry: Registry = new Registry()) {
    this.registry = registry;
    const registers = [registry];
    this.connections = new Counter({
      name: 'chatd_connections_total',
      help: 'WebSocket connections accepted',
      registers,
    });
    this.bytes = new Counter({
      name: 'chatd_bytes_total',
      help: 'Bytes received, relayed and sent, by channel',
      labelNames: ['channel'],
      registers,
    });
    this.relayFailures = new Counter({
      name: 'chatd_vault_node_failures_total',
      help: 'Vault exchanges that failed over to the next node',
      labelNames: ['node'],
      registers,
    });
    this.notificationPolls = new Counter({
      name: 'chatd_notification_polls_total',
      help: 'Rounds of reading the shared notification log because the watch on it was broken',
      registers,
    });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
