/**
 * Fluvio SC partition status versus each SPU's own report (infinyon/fluvio
 * #4528, fix PR #4527; OutOfStorage added by #4521).
 *
 * The mechanism: a leader SPU's disk fills; it reports storage full and the
 * SC sets the partition OutOfStorage. SPUs report on change only. Then the
 * SC–SPU link drops: the SC sets LeaderOffline. When the link comes back,
 * buggy: the SC's election logic sets Online because the leader is back, and
 * OutOfStorage is lost while the SPU's last report still says full, so
 * producers write to a full disk. Fixed: the election logic leaves OutOfStorage
 * alone; only a new SPU report may clear it.
 */
import { keys, plural, type Fault, type RepairCommand, type RepairItemResult, type ScPartition } from '../protocol';
import { buggy, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { applied, dedupeTargets, refused, unchanged } from '../protocol';
import { expectVersion } from './repair-support';

const SPUS = [5001, 5002, 5003];
const TOPICS = ['orders', 'clicks', 'app-logs'];
const DISK_BYTES = 100 * 1024 ** 3;
/** Ticks an SC–SPU link stays down in a flap. */
const FLAP_TICKS = 3;

export class FluvioSim implements SubsystemSim {
  readonly subsystem = 'partitions' as const;
  readonly commands = ['fluvio.restoreFromSpuReport', 'fluvio.restoreResolution'] as const;

  private readonly diskUsed = new Map<number, number>();
  /** SPU id → ticks until its link to the SC is back. */
  private readonly linkDown = new Map<number, number>();

  constructor(private readonly ctx: SimContext) {}

  build(size: Sizes): void {
    const { store, rng } = this.ctx;
    for (const spuId of SPUS) {
      this.diskUsed.set(spuId, Math.floor(DISK_BYTES * (0.3 + rng.float() * 0.2)));
      store.put('fluvio.spus', { key: keys.spu(spuId), spuId, connected: true, status: 'Online' });
    }
    for (let i = 0; i < size.partitions; i++) {
      const topic = TOPICS[i % TOPICS.length];
      const partition = Math.floor(i / TOPICS.length);
      const leader = SPUS[i % SPUS.length];
      const follower = SPUS[(i + 1) % SPUS.length];
      const leo = 1000 + rng.int(100_000);
      const bytes = leo * 512;
      store.put('fluvio.partitions', {
        key: keys.partition(topic, partition),
        topic,
        partition,
        resolution: 'Online',
        leader: { spu: leader, hw: leo, leo },
        lsr: 2,
        replicas: [leader, follower],
        size: bytes,
        isBeingDeleted: false,
      });
      for (const spuId of [leader, follower]) this.report(spuId, topic, partition, bytes);
    }
  }

  tick(): void {
    const { store, rng } = this.ctx;
    for (const [spuId, left] of [...this.linkDown]) {
      if (left > 1) this.linkDown.set(spuId, left - 1);
      else this.reconnect(spuId);
    }
    // Producers append to Online partitions; a full leader refuses ("Storage is full").
    for (const p of store.all('fluvio.partitions')) {
      if (p.resolution !== 'Online' || !rng.chance(0.3)) continue;
      const report = store.get('fluvio.spuReports', keys.spuReport(p.leader.spu, p.topic, p.partition));
      if (report?.storageFull) continue;
      const records = 1 + rng.int(50);
      const bytes = records * 512;
      this.diskUsed.set(p.leader.spu, (this.diskUsed.get(p.leader.spu) ?? 0) + bytes);
      store.patch('fluvio.partitions', p.key, {
        leader: { ...p.leader, hw: p.leader.hw + records, leo: p.leader.leo + records },
        size: p.size + bytes,
      });
    }
  }

  inject(fault: Fault, target: string | undefined): string {
    const spuId = target === undefined ? SPUS[0] : SPUS.find((s) => keys.spu(s) === target);
    if (spuId === undefined) throw rejected(`no SPU ${target}; SPUs are ${SPUS.map(keys.spu).join(', ')}`);
    switch (fault) {
      case 'fluvio.diskFull':
        return this.diskFull(spuId);
      case 'fluvio.scSpuLinkFlap':
        return this.linkFlap(spuId);
      default:
        throw rejected(`${fault} is not a fluvio fault`);
    }
  }

  repair(cmd: RepairCommand): RepairItemResult[] {
    if (cmd.command === 'fluvio.restoreResolution') {
      // Undo: the resolution the partition had before the repair, only if nothing changed it since.
      return dedupeTargets(cmd.targets).map((t) => {
        const found = expectVersion(this.ctx.store, 'fluvio.partitions', t, 'partition');
        if ('refusal' in found) return found.refusal;
        if (found.entity.resolution === t.resolution) return unchanged(t.key, `already ${t.resolution}`);
        const after = this.ctx.store.patch('fluvio.partitions', t.key, { resolution: t.resolution })!;
        return applied(t.key, `${found.entity.resolution} → ${t.resolution}, as before the repair`, after.version);
      });
    }
    if (cmd.command !== 'fluvio.restoreFromSpuReport') throw new Error(`fluvio cannot run ${cmd.command}`);
    return dedupeTargets(cmd.targets).map((t) => {
      const found = expectVersion(this.ctx.store, 'fluvio.partitions', t, 'partition');
      if ('refusal' in found) return found.refusal;
      return this.restore(found.entity);
    });
  }

  // ------------------------------------------------------------ mechanism --

  /** The SPU's own report of one replica; SPUs send one only when something changed. */
  private report(spuId: number, topic: string, partition: number, size: number): void {
    const used = this.diskUsed.get(spuId) ?? 0;
    const free = Math.max(0, DISK_BYTES - used);
    this.ctx.store.put('fluvio.spuReports', {
      key: keys.spuReport(spuId, topic, partition),
      spuId,
      topic,
      partition,
      storageFull: free === 0,
      freeBytes: free,
      size,
      reportedAt: this.ctx.time,
    });
  }

  private diskFull(spuId: number): string {
    const { store } = this.ctx;
    this.diskUsed.set(spuId, DISK_BYTES);
    let outOfStorage = 0;
    for (const p of store.all('fluvio.partitions')) {
      if (!p.replicas.includes(spuId)) continue;
      this.report(spuId, p.topic, p.partition, p.size);
      // #4521: the SC turns the leader's storage-full report into OutOfStorage.
      if (p.leader.spu === spuId) {
        store.patch('fluvio.partitions', p.key, { resolution: 'OutOfStorage' });
        outOfStorage++;
      }
    }
    return `${keys.spu(spuId)} disk full: ${plural(outOfStorage, 'partition')} it leads ${outOfStorage === 1 ? 'is' : 'are'} OutOfStorage`;
  }

  private linkFlap(spuId: number): string {
    const { store } = this.ctx;
    store.patch('fluvio.spus', keys.spu(spuId), { connected: false, status: 'Offline' });
    this.linkDown.set(spuId, FLAP_TICKS);
    for (const p of store.all('fluvio.partitions')) {
      if (p.leader.spu !== spuId) continue;
      // Fixed: OutOfStorage is not the election logic's to overwrite.
      if (p.resolution === 'OutOfStorage' && !buggy(this.ctx, 'partitions')) continue;
      store.patch('fluvio.partitions', p.key, { resolution: 'LeaderOffline' });
    }
    return `SC lost its link to ${keys.spu(spuId)} for ${FLAP_TICKS} ticks`;
  }

  private reconnect(spuId: number): void {
    const { store } = this.ctx;
    this.linkDown.delete(spuId);
    store.patch('fluvio.spus', keys.spu(spuId), { connected: true, status: 'Online' });
    // The SC's election logic: the leader is back, so the partition is Online again.
    for (const p of store.all('fluvio.partitions')) {
      if (p.leader.spu === spuId && p.resolution === 'LeaderOffline') {
        store.patch('fluvio.partitions', p.key, { resolution: 'Online' });
      }
    }
  }

  // -------------------------------------------------------------- repairs --

  private restore(p: ScPartition): RepairItemResult {
    const report = this.ctx.store.get('fluvio.spuReports', keys.spuReport(p.leader.spu, p.topic, p.partition));
    if (!report) return refused(p.key, `no report from its leader ${keys.spu(p.leader.spu)}; nothing to restore from`);
    if (!report.storageFull)
      return unchanged(p.key, `${keys.spu(p.leader.spu)} reports ${report.freeBytes} bytes free; resolution stays ${p.resolution}`);
    if (p.resolution === 'OutOfStorage') return unchanged(p.key, 'already OutOfStorage');
    const after = this.ctx.store.patch('fluvio.partitions', p.key, { resolution: 'OutOfStorage' })!;
    return applied(
      p.key,
      `${p.resolution} → OutOfStorage, from ${keys.spu(p.leader.spu)}'s report (storage full at t=${report.reportedAt}); producers are refused until the SPU reports free space`,
      after.version,
    );
  }
}
