// Optional Prometheus metrics for ChatD (docs/CHATD.md "Logs and metrics"): connections, bytes moved per
// channel, vault node failures. Counts and sizes only, never contents.
import { Counter, Registry } from 'prom-client';

export class ChatdMetrics {
  private readonly registry = new Registry();
  readonly connections = new Counter({
    name: 'chatd_connections_total',
    help: 'WebSocket connections accepted',
    registers: [this.registry],
  });
  readonly bytes = new Counter({
    name: 'chatd_bytes_total',
    help: 'Bytes received, relayed and sent, by channel',
    labelNames: ['channel'],
    registers: [this.registry],
  });
  readonly relayFailures = new Counter({
    name: 'chatd_vault_node_failures_total',
    help: 'Vault exchanges that failed over to the next node',
    labelNames: ['node'],
    registers: [this.registry],
  });

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
