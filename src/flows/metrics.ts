/**
 * The agent's Prometheus metrics (prom-client): flows and drops by verdict and policy, CNI
 * request latency, policy programming latency, IPAM usage per pool, datastore health, and the
 * process' own (CPU, memory, event loop) under podnet_agent_.
 *
 * Label values are bounded: verbs, verdicts, events, pool names and policy names (as many as
 * the cluster has policies); never addresses or pods.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FlowRecord } from './types.js';

export interface MetricsSources {
  /** Per pool: addresses in use and in total. */
  readonly pools: () => Promise<readonly { readonly pool: string; readonly used: number; readonly size: number }[]>;
  /** Datastore reachable and the agent's view in sync. */
  readonly datastore: () => { readonly healthy: boolean; readonly kind: string };
  readonly policy: () => { readonly programmedRevision: number; readonly endpoints: number; readonly profiles: number } | undefined;
  readonly flows: () => { readonly kept: number; readonly overwritten: number; readonly lost: number } | undefined;
}

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly flows: Counter<'event' | 'verdict' | 'protocol'>;
  private readonly decisions: Counter<'verdict' | 'kind' | 'policy' | 'direction'>;
  private readonly cni: Histogram<'verb' | 'mode' | 'result'>;
  private readonly programming: Histogram<'kind'>;

  constructor(node: string, sources: MetricsSources) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node });
    collectDefaultMetrics({ register: this.registry, prefix: 'podnet_agent_' });
    this.flows = new Counter({ name: 'podnet_flows_total', help: 'Flow records made, by event (new, end, drop, audit, log), verdict and protocol.', labelNames: ['event', 'verdict', 'protocol'], registers });
    this.decisions = new Counter({
      name: 'podnet_policy_verdicts_total',
      help: 'Flow records by the policy that decided them: kind is NetworkPolicy, ClusterNetworkPolicy or none (not isolated); policy is namespace/name or name.',
      labelNames: ['verdict', 'kind', 'policy', 'direction'],
      registers,
    });
    this.cni = new Histogram({
      name: 'podnet_cni_request_duration_seconds',
      help: 'CNI requests handled by the agent, by verb (ADD, DEL, CHECK, STATUS, GC), mode (cni, ipam) and result.',
      labelNames: ['verb', 'mode', 'result'],
      buckets: [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5],
      registers,
    });
    this.programming = new Histogram({
      name: 'podnet_policy_programming_duration_seconds',
      help: 'Policy programming steps, compile included: admit (a new pod interface), update (incremental), replace (whole table).',
      labelNames: ['kind'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers,
    });
    new Gauge({
      name: 'podnet_ipam_addresses',
      help: 'Addresses of each IP pool, by state (used, total).',
      labelNames: ['pool', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const p of await sources.pools()) {
          this.set({ pool: p.pool, state: 'used' }, p.used);
          this.set({ pool: p.pool, state: 'total' }, p.size);
        }
      },
    });
    new Gauge({
      name: 'podnet_datastore_up',
      help: '1 when the datastore answers and the agent is in sync with it.',
      labelNames: ['datastore'],
      registers,
      collect() {
        const d = sources.datastore();
        this.reset();
        this.set({ datastore: d.kind }, d.healthy ? 1 : 0);
      },
    });
    new Gauge({
      name: 'podnet_policy_programmed_revision',
      help: 'Datastore revision of the resources the node\'s policy table reflects.',
      registers,
      collect() {
        this.set(sources.policy()?.programmedRevision ?? 0);
      },
    });
    new Gauge({
      name: 'podnet_policy_endpoints',
      help: 'Pod interfaces with policy programmed on this node.',
      registers,
      collect() {
        this.set(sources.policy()?.endpoints ?? 0);
      },
    });
    new Gauge({
      name: 'podnet_flow_records_buffered',
      help: 'Flow records held in the node\'s ring buffer.',
      registers,
      collect() {
        this.set(sources.flows()?.kept ?? 0);
      },
    });
    new Gauge({
      name: 'podnet_flow_records_lost',
      help: 'Flow records lost: overwritten in the ring before anyone read them, or kernel events lost (socket overrun).',
      labelNames: ['where'],
      registers,
      collect() {
        const f = sources.flows();
        this.set({ where: 'ring' }, f?.overwritten ?? 0);
        this.set({ where: 'kernel' }, f?.lost ?? 0);
      },
    });
  }

  flow(r: FlowRecord): void {
    this.flows.inc({ event: r.event, verdict: r.verdict, protocol: r.protocol });
    if (r.event === 'end') return; // a connection's decision is counted once, at 'new'
    if (r.policies.length === 0) {
      this.decisions.inc({ verdict: r.verdict, kind: 'none', policy: '', direction: r.direction ?? '' });
      return;
    }
    for (const p of r.policies) this.decisions.inc({ verdict: r.verdict, kind: p.kind, policy: p.namespace ? `${p.namespace}/${p.name}` : p.name, direction: p.direction });
  }

  cniRequest(verb: string, mode: string, seconds: number, ok: boolean): void {
    this.cni.observe({ verb, mode, result: ok ? 'ok' : 'error' }, seconds);
  }

  programmed(kind: string, ms: number): void {
    this.programming.observe({ kind }, ms / 1000);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
