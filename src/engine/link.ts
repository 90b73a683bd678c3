/**
 * The session's view of a cluster connection: exactly what it uses of the
 * protocol client, so tests or another transport can stand in for it.
 */
import { ClusterClient } from '../cluster/client';

export type ClusterLink = Pick<ClusterClient, 'init' | 'request' | 'onEvents' | 'onClose' | 'listAll' | 'close'>;

export type LinkFactory = (options: { url: string; token: string; clientName: string }) => Promise<ClusterLink>;

export const connectClusterClient: LinkFactory = (options) => ClusterClient.connect(options);
