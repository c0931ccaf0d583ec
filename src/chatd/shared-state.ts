// The shared state of a multi-region ChatD deployment (docs/CHATD.md "ChatD across regions"):
// the etcd account store and the S3 blob store a config names. The S3 store is loaded only when
// asked for: the AWS SDK takes about a second to import.
import type { BlobStore } from '../stores/blob/blob-store.ts';
import { parseRecordStoreUrl } from '../stores/record/index.ts';
import type { AccountStore } from './account-store.ts';
import type { AccountBlobStores } from './blob-storage.ts';
import { EtcdAccountStore } from './etcd-account-store.ts';

/** Account blob stores kept open at once (each is a small S3 client; reopening one costs nothing on the wire). */
const OPEN_STORES = 1000;

/** The etcd account store `url` names (etcd://host:port[,host:port...][/prefix]). */
export function openAccountStore(url: string): AccountStore {
  const location = parseRecordStoreUrl(url);
  if (location.kind !== 'etcd') throw new RangeError(`not an etcd URL: ${url}`);
  return new EtcdAccountStore({ hosts: location.hosts, prefix: location.prefix });
}

/** Each account's blobs under `s3://bucket/prefix/ACCOUNT-NUMBER/`. */
export async function openAccountBlobStores(url: string, endpoint?: string): Promise<AccountBlobStores> {
  const { S3BlobStore } = await import('../stores/blob/s3.ts');
  const base = url.replace(/\/+$/, '');
  const open = new Map<number, BlobStore>();
  return (accountId) => {
    let store = open.get(accountId);
    if (store === undefined) {
      if (open.size >= OPEN_STORES) open.clear();
      store = new S3BlobStore(`${base}/${accountId}`, { endpoint });
      open.set(accountId, store);
    }
    return store;
  };
}
