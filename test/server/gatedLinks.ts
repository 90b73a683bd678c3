/**
 * Links over a real cluster client whose sync's page reads wait at a gate (until `release`, or fail
 * there with `fail`), and that record every method the session asks for. No timing involved: a test
 * holds the sync exactly where it wants it.
 */
import type { ClusterClient } from '../../src/cluster/client';
import { connectClusterClient, type ClusterLink, type LinkFactory } from '../../src/engine/link';
import type { CollectionName } from '../../src/protocol';

export interface GatedLinksOptions {
  /** Pages the whole sync reads before it waits at the gate, once (0: every page read waits for the gate). */
  pagesBeforeGate?: number;
  /** Pretend to be a cluster from before `cluster.summary` (no `methods` in `initialize`). */
  old?: boolean;
}

export class GatedLinks {
  private open!: () => void;
  private shut!: (e: Error) => void;
  private readonly gate = new Promise<void>((resolve, reject) => {
    this.open = resolve;
    this.shut = reject;
  });
  private reached!: () => void;
  /** Resolves once the sync waits at the gate. */
  readonly held = new Promise<void>((resolve) => (this.reached = resolve));
  /** Every method the session asked the cluster for, in order. */
  readonly requests: string[] = [];
  private pages = 0;

  constructor(private readonly options: GatedLinksOptions = {}) {
    // It may fail before anything waits on it.
    this.gate.catch(() => undefined);
  }

  release(): void {
    this.open();
  }

  /** The held page reads fail with `message` instead (a store that errs mid-sync). */
  fail(message: string): void {
    this.shut(new Error(message));
  }

  readonly factory: LinkFactory = async (options) => {
    const client = (await connectClusterClient(options)) as ClusterClient;
    const { methods: _methods, ...oldInit } = client.init;
    return {
      init: this.options.old ? oldInit : client.init,
      request: ((method: string, params: unknown) => {
        this.requests.push(method);
        return (client.request as (m: string, p: unknown) => Promise<unknown>)(method, params);
      }) as ClusterClient['request'],
      onEvents: client.onEvents.bind(client),
      onClose: client.onClose.bind(client),
      close: client.close.bind(client),
      listAll: ((collection: CollectionName, opts?: { limit?: number }) =>
        this.gated(client.listAll(collection, opts))) as ClusterClient['listAll'],
    } satisfies ClusterLink;
  };

  private async *gated<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
    const before = this.options.pagesBeforeGate ?? 0;
    if (before === 0) await this.wait();
    for await (const page of pages) {
      yield page;
      if (++this.pages === before) await this.wait();
    }
  }

  private wait(): Promise<void> {
    this.reached();
    return this.gate;
  }
}
