// Opens a record store from its URL (docs/ARCHITECTURE.md "Record store"): `sqlite:PATH` or a plain path for the
// embedded SQLite store, `etcd://host:port[,host:port...][/prefix]` for an etcd cluster.
import { UsageError } from '../../errors.ts';
import { EtcdRecordStore, type EtcdRecordStoreOptions } from './etcd.ts';
import type { RecordStore } from './record-store.ts';
import { SqliteRecordStore } from './sqlite.ts';

export { EtcdRecordStore, type EtcdRecordStoreOptions } from './etcd.ts';
export type { RecordStore, StoredSlot } from './record-store.ts';
export { SqliteRecordStore } from './sqlite.ts';

export type RecordStoreLocation =
  | { readonly kind: 'sqlite'; readonly path: string }
  | { readonly kind: 'etcd'; readonly hosts: readonly string[]; readonly prefix?: string };

const HOST_PORT = /^[A-Za-z0-9.-]+:[0-9]{1,5}$|^\[[0-9A-Fa-f:.]+\]:[0-9]{1,5}$/;

/** Parses a store URL without opening anything; throws UsageError naming what is wrong. */
export function parseRecordStoreUrl(url: string): RecordStoreLocation {
  if (url.startsWith('etcd://')) {
    const rest = url.slice('etcd://'.length);
    const slash = rest.indexOf('/');
    const hostList = slash === -1 ? rest : rest.slice(0, slash);
    const hosts = hostList.split(',').filter((host) => host !== '');
    const bad = hosts.find((host) => !HOST_PORT.test(host));
    if (hosts.length === 0 || bad !== undefined) {
      throw new UsageError(`malformed etcd store URL ${JSON.stringify(url)}`, {
        hints: ['expected etcd://host:port[,host:port...][/prefix], e.g. etcd://127.0.0.1:2379/strongroom'],
      });
    }
    if (slash === -1 || slash === rest.length - 1) return { kind: 'etcd', hosts };
    // A prefix names a directory of keys: always end it with '/' so one fleet's prefix is never
    // the start of another's ("a" would otherwise also match "ab/...").
    const prefix = rest.slice(slash + 1);
    return { kind: 'etcd', hosts, prefix: prefix.endsWith('/') ? prefix : `${prefix}/` };
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (path === '' || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new UsageError(`unsupported record store ${JSON.stringify(url)}`, {
      hints: ['use a SQLite file path (sqlite:PATH or PATH) or etcd://host:port[,host:port...][/prefix]'],
    });
  }
  return { kind: 'sqlite', path };
}

/** Opens the record store `url` names. Etcd options (timeouts) apply only to etcd URLs. */
export function openRecordStore(
  url: string,
  etcdOptions: Omit<EtcdRecordStoreOptions, 'hosts' | 'prefix'> = {},
): RecordStore {
  const location = parseRecordStoreUrl(url);
  if (location.kind === 'sqlite') return new SqliteRecordStore(location.path);
  return new EtcdRecordStore({ ...etcdOptions, hosts: location.hosts, prefix: location.prefix });
}
