/**
 * milvus: not implemented yet. The source reads the wal subsystem's
 * collections from milvus's own metadata store (see docs/gateway.md).
 */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';

export function createMilvusSource(config: NonNullable<GatewayConfig['milvus']>, _all: GatewayConfig): SubsystemSource {
  void config;
  throw new Error('the milvus source is not implemented yet');
}
