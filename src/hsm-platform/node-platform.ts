// Builds a node's Platform (src/hsm-core/platform.ts) from its node config (src/vault-host/
// node-config.ts): the keystore the ceremony installed, the node's NVRAM file, node:crypto primitives
// and the node:crypto HPKE suite. The host hands the result, with the config's sealed fleet config, to
// the core; the core itself verifies that config.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { StrongroomError } from '../errors.ts';
import type { Platform } from '../hsm-core/platform.ts';
import { NodeConfig } from '../vault-host/node-config.ts';
import { createNodeHpkeSuite } from './hpke-node.ts';
import type { NodeKeyStore } from './keystore.ts';
import { NvramFile } from './nvram.ts';
import { openPkcs11Keystore } from './pkcs11.ts';
import { nodePrimitives } from './primitives.ts';
import { openSoftwareKeystore } from './software.ts';

export interface OpenKeystoreOptions {
  /** Where the PKCS#11 PIN is looked up (by the variable the config names); default process.env. */
  env?: NodeJS.ProcessEnv;
  /** The PIN itself, when the caller already holds it (the ceremony); overrides env. */
  pin?: string;
  /** Where the software keystore's not-an-HSM warning goes; default standard error. */
  warn?: (line: string) => void;
}

export interface NodePlatform extends Platform {
  readonly keystore: NodeKeyStore;
  readonly nvram: NvramFile;
  readonly config: NodeConfig;
  /** keystore.seal(FleetConfig, FLEET_CONFIG_AAD) from the ceremony, for VaultCore.start. */
  readonly sealedFleetConfig: Uint8Array;
  /** Closes the keystore (zeroing what it holds) and the NVRAM file. */
  close(): void;
}

/** Opens the keystore a node config names; relative paths are taken from `configDir`. */
export function openNodeKeystore(
  config: NodeConfig,
  configDir: string,
  options: OpenKeystoreOptions = {},
): NodeKeyStore {
  const location = config.keystore;
  if (location.kind === 'software') {
    return openSoftwareKeystore(NodeConfig.resolve(configDir, location.path), {
      fleetId: config.fleetId,
      nodeIndex: config.index,
      warn: options.warn,
    });
  }
  const pin = options.pin ?? (options.env ?? process.env)[location.pinEnv];
  if (pin === undefined || pin === '') {
    throw new StrongroomError(`the PIN of PKCS#11 token "${location.tokenLabel}" is not set`, {
      hints: [`set the environment variable ${location.pinEnv} to the token's user PIN`],
    });
  }
  return openPkcs11Keystore({
    modulePath: location.module,
    tokenLabel: location.tokenLabel,
    pin,
    secretsPath: NodeConfig.resolve(configDir, location.secretsPath),
    fleetId: config.fleetId,
    nodeIndex: config.index,
  });
}

/** Reads a node config file and builds that node's platform. */
export function loadNodePlatform(nodeConfigPath: string, options: OpenKeystoreOptions = {}): NodePlatform {
  let config: NodeConfig;
  try {
    config = NodeConfig.deserialize(readFileSync(nodeConfigPath));
  } catch (error) {
    throw new StrongroomError(`node config ${nodeConfigPath} could not be read`, { cause: error });
  }
  const configDir = dirname(nodeConfigPath);
  const keystore = openNodeKeystore(config, configDir, options);
  let nvram: NvramFile;
  try {
    nvram = new NvramFile(NodeConfig.resolve(configDir, config.nvramPath));
  } catch (error) {
    keystore.close();
    throw error;
  }
  return {
    crypto: nodePrimitives,
    hpke: createNodeHpkeSuite(),
    keystore,
    nvram,
    config,
    sealedFleetConfig: config.sealedFleetConfig,
    close() {
      keystore.close();
      nvram.close();
    },
  };
}
