/**
 * fluvio: not implemented yet. The source reads the partitions subsystem's
 * collections from fluvio's own metadata store (see docs/gateway.md).
 */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';

export function createFluvioSource(config: NonNullable<GatewayConfig['fluvio']>, _all: GatewayConfig): SubsystemSource {
  void config;
  throw new Error('the fluvio source is not implemented yet');
}
