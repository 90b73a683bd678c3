/**
 * The session's view of a cluster connection: exactly what it uses of the
 * protocol client, so tests or another transport can stand in for it.
 */
import { ClusterClient } from '../cluster/client';
import type { ConnectionState } from '../protocol';

export type ClusterLink = Pick<ClusterClient, 'init' | 'request' | 'onEvents' | 'onClose' | 'listAll' | 'close'>;

export type LinkFactory = (options: { url: string; token: string; clientName: string }) => Promise<ClusterLink>;

/**
 * What the parts of a session (its full sync, status re-read and repair sending) read of it:
 * `ClusterSession` builds one, and each part's host adds what that part needs.
 */
export interface SessionCore {
  readonly name: string;
  readonly log: (message: string) => void;
  /** The session's link now (null while down): work over a link that was replaced meanwhile is dropped. */
  link(): ClusterLink | null;
  /** The session was disposed (the cluster disconnected). */
  disposed(): boolean;
  state(): ConnectionState;
}

export const connectClusterClient: LinkFactory = (options) => ClusterClient.connect(options);
