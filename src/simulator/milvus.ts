/**
 * Milvus streaming nodes and their WALs (milvus-io/milvus #41307, fix PR #41326).
 *
 * The mechanism: during a rolling upgrade the coordinator moves a channel
 * onto an old node, which opens its WAL at term + 1 and starts recovery.
 * Clients append; `Append` registers in flight, then waits for the
 * interceptors (recovery). Then the old pod is deleted: `Close` marks the WAL
 * stopping and waits for in-flight appends to drain. Closing also stops the
 * recovery, so buggy: the wait never ends and the node stays Terminating
 * long past its grace period. Fixed: `Close` cancels the appends still
 * waiting on recovery (they fail; clients retry on the new owner), the WAL
 * closes and the node reaches Stopped.
 */
import {
  keys,
  plural,
  type Fault,
  type PChannelMeta,
  type RepairCommand,
  type RepairItemResult,
  type StreamingNode,
  type WalState,
} from '../protocol';
import { buggy, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { applied, dedupeTargets, refused, unchanged } from '../protocol';
import { expectVersion } from './repair-support';

const OLD_BUILD = 'master-20250410';
const NEW_BUILD = 'master-20250415';
const CHANNELS = 6;
const GRACE_PERIOD_SECONDS = 30;
/** Ticks a WAL's recovery takes when nothing stops it. */
const RECOVERY_TICKS = 5;

function channelName(i: number): string {
  return `by-dev-rootcoord-dml_${i}`;
}

export class MilvusSim implements SubsystemSim {
  readonly subsystem = 'wal' as const;
  readonly commands = ['milvus.cancelAppendsAndClose', 'milvus.forceRemoveNode'] as const;

  private nextServerId = 1;
  private nextAppendId = 1;
  /** WAL key → ticks of recovery left. */
  private readonly recoveryLeft = new Map<string, number>();

  constructor(private readonly ctx: SimContext) {}

  build(_size: Sizes): void {
    const nodes = [this.addNode(OLD_BUILD), this.addNode(OLD_BUILD), this.addNode(OLD_BUILD)];
    for (let i = 0; i < CHANNELS; i++) {
      const node = nodes[i % nodes.length];
      // Upstream's terms: a new pchannel meta is at term 1 (UNINITIALIZED) and its first assignment
      // bumps it to 2 (channel/pchannel.go, newPChannelMeta, TryAssignToServerID).
      this.assign(channelName(i), node.serverId, 2);
    }
  }

  tick(): void {
    const { store } = this.ctx;
    for (const wal of store.all('milvus.wals')) {
      if (wal.closing) this.continueClose(wal);
      else if (wal.recovering) this.continueRecovery(wal);
    }
    for (const node of store.all('milvus.nodes')) {
      if (node.lifecycle !== 'Terminating') continue;
      const open = store.all('milvus.wals').filter((w) => w.serverId === node.serverId && (w.available || w.closing));
      if (open.length === 0) store.patch('milvus.nodes', node.key, { lifecycle: 'Stopped' });
    }
  }

  inject(fault: Fault, target: string | undefined): string {
    if (fault !== 'milvus.rollingUpgrade') throw rejected(`${fault} is not a milvus fault`);
    const { store, rng } = this.ctx;
    const running = store.all('milvus.nodes').filter((n) => n.lifecycle === 'Running' && n.build === OLD_BUILD);
    const victim = target === undefined ? running[0] : running.find((n) => n.key === target);
    if (!victim) throw rejected(target ? `${target} is not a Running ${OLD_BUILD} node` : `no Running ${OLD_BUILD} node left to upgrade`);
    // 1. The new build's pod joins.
    const fresh = this.addNode(NEW_BUILD);
    // 2. Rebalancing moves a channel onto the old node: it opens the WAL at term + 1 and recovers.
    const moving = store.all('milvus.channelMetas').find((m) => m.node !== victim.serverId);
    if (moving) this.assign(moving.channel, victim.serverId, moving.term + 1);
    // 3. Clients append to it; each append registers in flight and waits for recovery.
    const recovering = store.all('milvus.wals').filter((w) => w.serverId === victim.serverId && w.recovering);
    for (const wal of recovering) {
      const n = 2 + rng.int(4);
      for (let i = 0; i < n; i++) this.registerAppend(wal);
    }
    // 4. The old pod is deleted: Close on every WAL of the node.
    store.patch('milvus.nodes', victim.key, { lifecycle: 'Terminating', stopRequestedAt: this.ctx.time });
    for (const wal of store.all('milvus.wals')) {
      if (wal.serverId === victim.serverId && wal.available) this.startClose(wal);
    }
    return `rolling upgrade: ${fresh.key} (${NEW_BUILD}) joined, ${victim.key} is Terminating with ${plural(recovering.length, 'WAL')} recovering`;
  }

  repair(cmd: RepairCommand): RepairItemResult[] {
    if (cmd.command !== 'milvus.cancelAppendsAndClose' && cmd.command !== 'milvus.forceRemoveNode') {
      throw new Error(`milvus cannot run ${cmd.command}`);
    }
    const remove = cmd.command === 'milvus.forceRemoveNode';
    return dedupeTargets(cmd.targets).map((t) => {
      const found = expectVersion(this.ctx.store, 'milvus.nodes', t, 'node');
      if ('refusal' in found) return found.refusal;
      const node = found.entity;
      if (node.lifecycle === 'Running') {
        return refused(t.key, `${t.key} is Running; it was not asked to stop, so there is no close to finish`);
      }
      if (node.lifecycle === 'Stopped' && !remove) return unchanged(t.key, `${t.key} is already Stopped`);
      return remove ? this.forceRemove(node) : this.cancelAndClose(node);
    });
  }

  // ------------------------------------------------------------ mechanism --

  private addNode(build: string): StreamingNode {
    const serverId = this.nextServerId++;
    return this.ctx.store.put('milvus.nodes', {
      key: keys.node(serverId),
      serverId,
      address: `10.0.1.${serverId}:22222`,
      build,
      lifecycle: 'Running',
      stopRequestedAt: null,
      gracePeriodSeconds: GRACE_PERIOD_SECONDS,
    });
  }

  /** The coordinator assigns `channel` to `serverId` at `term`; the previous owner's WAL is fenced. */
  private assign(channel: string, serverId: number, term: number): PChannelMeta {
    const { store } = this.ctx;
    for (const wal of store.all('milvus.wals')) {
      if (wal.channel === channel && wal.serverId !== serverId && wal.available) {
        store.patch('milvus.wals', wal.key, { available: false });
      }
    }
    const walKey = keys.wal(serverId, channel);
    // A channel that moved (any term after its first assignment, 2) replays its WAL before it can serve.
    const recovering = term > 2;
    store.put('milvus.wals', {
      key: walKey,
      serverId,
      channel,
      term,
      available: true,
      accessMode: 'PCHANNEL_ACCESS_READWRITE',
      recovering,
      closing: false,
      inFlightAppends: 0,
    });
    if (recovering) this.recoveryLeft.set(walKey, RECOVERY_TICKS);
    return store.put('milvus.channelMetas', {
      key: channel,
      channel,
      node: serverId,
      term,
      state: 'PCHANNEL_META_STATE_ASSIGNED',
      lastAssignTimestampSeconds: this.ctx.time,
    });
  }

  private registerAppend(wal: WalState): void {
    const { store } = this.ctx;
    const appendId = `append-${String(this.nextAppendId++).padStart(8, '0')}`;
    store.put('milvus.appends', {
      key: `${wal.key}/${appendId}`,
      appendId,
      serverId: wal.serverId,
      channel: wal.channel,
      term: wal.term,
      startedAt: this.ctx.time,
      phase: wal.recovering ? 'waiting-recovery' : 'writing',
    });
    const current = store.get('milvus.wals', wal.key)!;
    store.patch('milvus.wals', wal.key, { inFlightAppends: (current.inFlightAppends ?? 0) + 1 });
  }

  private appendsOf(wal: WalState) {
    return this.ctx.store.all('milvus.appends').filter((a) => a.serverId === wal.serverId && a.channel === wal.channel);
  }

  private continueRecovery(wal: WalState): void {
    const left = (this.recoveryLeft.get(wal.key) ?? 1) - 1;
    this.recoveryLeft.set(wal.key, left);
    if (left > 0) return;
    this.recoveryLeft.delete(wal.key);
    // Interceptors ready: the appends that waited are written and acknowledged.
    for (const a of this.appendsOf(wal)) this.ctx.store.delete('milvus.appends', a.key);
    this.ctx.store.patch('milvus.wals', wal.key, { recovering: false, inFlightAppends: 0 });
  }

  private startClose(wal: WalState): void {
    this.ctx.store.patch('milvus.wals', wal.key, { closing: true });
    // The fix: Close cancels the appends still waiting on recovery instead of waiting for them.
    if (!buggy(this.ctx, 'wal')) this.failAppends(this.ctx.store.get('milvus.wals', wal.key)!);
  }

  /** Close waits for in-flight appends to drain. Recovery was stopped by the close, so buggy never drains. */
  private continueClose(wal: WalState): void {
    if ((wal.inFlightAppends ?? 0) > 0) return;
    this.finishClose(wal);
  }

  private failAppends(wal: WalState): number {
    const appends = this.appendsOf(wal);
    for (const a of appends) this.ctx.store.delete('milvus.appends', a.key);
    this.recoveryLeft.delete(wal.key);
    this.ctx.store.patch('milvus.wals', wal.key, { inFlightAppends: 0, recovering: false });
    return appends.length;
  }

  /** The WAL is closed; the coordinator hands its channel to a Running node at term + 1. */
  private finishClose(wal: WalState): string {
    const { store } = this.ctx;
    store.patch('milvus.wals', wal.key, { closing: false, available: false, recovering: false, inFlightAppends: 0 });
    const meta = store.get('milvus.channelMetas', wal.channel);
    if (!meta || meta.node !== wal.serverId) return 'channel already moved';
    const target = this.leastLoadedRunning(wal.serverId);
    if (!target) {
      store.patch('milvus.channelMetas', meta.key, { state: 'PCHANNEL_META_STATE_UNAVAILABLE' });
      return `${wal.channel} unavailable: no Running node`;
    }
    this.assign(wal.channel, target.serverId, meta.term + 1);
    return `${wal.channel} → ${target.key} at term ${meta.term + 1}`;
  }

  private leastLoadedRunning(except: number): StreamingNode | undefined {
    const { store } = this.ctx;
    const load = new Map<number, number>();
    for (const m of store.values('milvus.channelMetas')) load.set(m.node, (load.get(m.node) ?? 0) + 1);
    let best: StreamingNode | undefined;
    for (const n of store.values('milvus.nodes')) {
      if (n.lifecycle !== 'Running' || n.serverId === except) continue;
      if (!best || (load.get(n.serverId) ?? 0) < (load.get(best.serverId) ?? 0)) best = n;
    }
    return best;
  }

  // -------------------------------------------------------------- repairs --

  private cancelAndClose(node: StreamingNode): RepairItemResult {
    const { store } = this.ctx;
    let failed = 0;
    const moves: string[] = [];
    for (const wal of store.all('milvus.wals')) {
      if (wal.serverId !== node.serverId || !(wal.available || wal.closing)) continue;
      failed += this.failAppends(wal);
      moves.push(this.finishClose(store.get('milvus.wals', wal.key)!));
    }
    store.patch('milvus.nodes', node.key, { lifecycle: 'Stopped' });
    return applied(
      node.key,
      `failed ${plural(failed, 'in-flight append')} (clients retry; acknowledged data is already in the message queue), closed ${plural(moves.length, 'WAL')}${moves.length ? ` (${moves.join('; ')})` : ''}, node Stopped`,
    );
  }

  private forceRemove(node: StreamingNode): RepairItemResult {
    const { store } = this.ctx;
    let failed = 0;
    const moves: string[] = [];
    for (const wal of store.all('milvus.wals')) {
      if (wal.serverId !== node.serverId) continue;
      failed += this.failAppends(wal);
      if (wal.available || wal.closing) moves.push(this.finishClose(store.get('milvus.wals', wal.key)!));
      store.delete('milvus.wals', wal.key);
    }
    store.delete('milvus.nodes', node.key);
    return applied(
      node.key,
      `removed; ${plural(failed, 'in-flight append')} failed (clients retry), channels reassigned with term + 1 to fence the old owner${moves.length ? ` (${moves.join('; ')})` : ''}`,
    );
  }
}
