/**
 * Proves the runtime harness (test/harness) with the reference CNI plugins (Debian's
 * containernetworking-plugins: bridge + host-local, cniVersion 1.0.0): real podman (CNI backend)
 * and real containerd (`ctr run --cni`), each inside a host network namespace this test creates.
 * podnet's own runtime tests reuse the same harness with podnet's configuration.
 *
 * Needs root, podman, containerd, runc, catatonit and busybox-static (scripts/setup).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessError, netnsExec, netnsExecOk, withContainerd, withNetns, withPodmanEnv, type ExecResult } from './harness/index.js';

const REFERENCE_CNI_DIR = '/usr/lib/cni';

interface RefNet {
  readonly confDir: string;
  readonly ipamDir: string;
  readonly name: string;
}

/** Writes a bridge + host-local conflist (ipMasq off: no NAT rules anywhere) into a temp dir. */
async function referenceNet(
  name: string,
  bridge: string,
  subnet: string,
  range: { rangeStart?: string; rangeEnd?: string } = {},
): Promise<RefNet> {
  const base = await mkdtemp(join(tmpdir(), 'podnet-refnet-'));
  const confDir = join(base, 'net.d');
  const ipamDir = join(base, 'ipam');
  await mkdir(confDir);
  const conf = {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: false,
        hairpinMode: false,
        ipam: { type: 'host-local', ranges: [[{ subnet, ...range }]], dataDir: ipamDir },
      },
    ],
  };
  await writeFile(join(confDir, `10-${name}.conflist`), JSON.stringify(conf, null, 2));
  return { confDir, ipamDir, name };
}

/** Addresses host-local has handed out on a network (its dataDir holds one file per address). */
async function allocated(net: RefNet): Promise<string[]> {
  const dir = join(net.ipamDir, net.name);
  if (!existsSync(dir)) return [];
  return (await readdir(dir)).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)).sort();
}

async function vethsIn(hostNetns: string): Promise<string[]> {
  const r = await netnsExecOk(hostNetns, ['ip', '-o', 'link', 'show', 'type', 'veth']);
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(':')[1]!.trim().split('@')[0]!);
}

function inSubnet24(ip: string, subnet: string): boolean {
  const prefix = subnet.split('/')[0]!.split('.').slice(0, 3).join('.');
  return ip.startsWith(`${prefix}.`) && !ip.endsWith('.0') && !ip.endsWith('.1') && !ip.endsWith('.255');
}

function pinged(r: ExecResult): boolean {
  return r.code === 0 && /1 packets transmitted, 1 (packets )?received/.test(r.stdout);
}

function cgroupLeft(rel: string): string[] {
  const base = '/sys/fs/cgroup';
  const roots = existsSync(join(base, 'cgroup.controllers')) ? [base] : ['cpu', 'memory', 'pids', 'unified', 'systemd'].map((h) => join(base, h));
  return roots.map((r) => join(r, rel)).filter((p) => existsSync(p));
}

test('podman (CNI backend) + reference bridge/host-local: two containers ping each other', { timeout: 180_000 }, async (t) => {
  const subnet = '10.244.250.0/24';
  const net = await referenceNet('pnref', 'pnref0', subnet);
  try {
    await withNetns('pnrt-podman', async (host) => {
      let pid = 0;
      let dir = '';
      let cgroupParent = '';
      await withPodmanEnv({ cniConfDir: net.confDir, cniPluginDirs: [REFERENCE_CNI_DIR], hostNetns: host }, async (podman) => {
        ({ sandboxPid: pid, dir, cgroupParent } = podman);
        const a = await podman.run({ name: 'ref-a', network: net.name, cmd: ['sleep', '300'] });
        const b = await podman.run({ name: 'ref-b', network: net.name, cmd: ['sleep', '300'] });
        t.diagnostic(`podman run: ${a.runMs.toFixed(0)} ms, ${b.runMs.toFixed(0)} ms`);
        const ipA = await podman.ip(a, net.name);
        const ipB = await podman.ip(b);
        assert.ok(inSubnet24(ipA, subnet), ipA);
        assert.ok(inSubnet24(ipB, subnet), ipB);
        assert.notEqual(ipA, ipB);
        // The address inside the container is the one podman reports.
        assert.match((await podman.exec(a, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/24`));
        assert.ok(pinged(await podman.exec(a, ['ping', '-c1', '-W2', ipB])));
        assert.ok(pinged(await podman.exec(b, ['ping', '-c1', '-W2', ipA])));
        // The bridge and both host-side veths live in the test's host netns, not the root one.
        assert.equal((await vethsIn(host)).length, 2);
        assert.equal((await netnsExec(host, ['ip', 'link', 'show', 'pnref0'])).code, 0);
        assert.equal((await netnsExec('/proc/1/ns/net', ['ip', 'link', 'show', 'pnref0'])).code, 1, 'bridge leaked into the root netns');
        assert.ok(pinged(await netnsExec(host, ['ping', '-c1', '-W2', ipA])), 'host netns pings container a');
        assert.deepEqual(await allocated(net), [ipA, ipB].sort());
        // podman's netns path exists only in the environment's mount namespace; outsidePath
        // reaches it from here (what an agent outside the environment would have to do).
        const sandboxKey = ((await podman.inspect(a))['NetworkSettings'] as { SandboxKey: string }).SandboxKey;
        assert.match(sandboxKey, /^\/run\/netns\/netns-[0-9a-f-]{36}$/);
        assert.equal(existsSync(sandboxKey), false);
        assert.match((await netnsExecOk(podman.outsidePath(sandboxKey), ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'])).stdout, new RegExp(`inet ${ipA.replace(/\./g, '\\.')}/`));
        // A nonexistent destination fails: ping results are real.
        assert.equal((await podman.tryExec(a, ['ping', '-c1', '-W1', '10.244.250.254'])).code, 1);

        // CNI DEL on rm: addresses released, veths gone.
        const t0 = performance.now();
        await podman.rm(a);
        t.diagnostic(`podman rm: ${(performance.now() - t0).toFixed(0)} ms`);
        assert.deepEqual(await allocated(net), [ipB]);
        assert.equal((await vethsIn(host)).length, 1);
        await podman.rm(b);
        assert.deepEqual(await allocated(net), []);
        assert.deepEqual(await vethsIn(host), []);
      });
      // Everything of the environment is gone.
      assert.ok(pid > 0);
      assert.equal(existsSync(`/proc/${pid}`), false, 'sandbox PID 1 still running');
      assert.equal(existsSync(dir), false, 'temp dir left behind');
      assert.deepEqual(cgroupLeft(cgroupParent), []);
      assert.equal(existsSync(join(net.confDir, 'cni.lock')), false);
    });
  } finally {
    await rm(join(net.confDir, '..'), { recursive: true, force: true });
  }
});

test('containerd ctr run --cni + reference bridge/host-local: host pings the container; DEL releases', { timeout: 180_000 }, async (t) => {
  const subnet = '10.244.251.0/24';
  const net = await referenceNet('pnrefc', 'pnrefc0', subnet);
  try {
    await withNetns('pnrt-ctrd', async (host) => {
      let pid = 0;
      let dir = '';
      let ns = '';
      await withContainerd({ cniConfDir: net.confDir, cniPluginDirs: [REFERENCE_CNI_DIR], hostNetns: host }, async (ctr) => {
        ({ sandboxPid: pid, dir, namespace: ns } = ctr);
        const c = await ctr.run({ name: 'ref-c', cmd: ['sleep', '300'] });
        t.diagnostic(`ctr run --cni: ${c.runMs.toFixed(0)} ms`);
        const ip = await ctr.ip(c);
        assert.ok(inSubnet24(ip, subnet), ip);
        assert.deepEqual(await allocated(net), [ip]);
        // From the test's host netns directly (outside the harness's mount namespace).
        assert.ok(pinged(await netnsExec(host, ['ping', '-c1', '-W2', ip])), 'host netns pings the container');
        assert.ok(pinged(await ctr.exec(c, ['ping', '-c1', '-W2', '10.244.251.1'])), 'container pings its gateway');
        assert.equal((await vethsIn(host)).length, 1);
        // ctr's CNI_NETNS is /proc/<task pid>/ns/net with the pid of the environment's PID
        // namespace: from outside it is reachable through outsidePath.
        const taskPid = /^ref-c\s+(\d+)\s+RUNNING$/m.exec((await ctr.ctr(['task', 'ls'])).stdout)?.[1];
        assert.ok(taskPid, 'task pid');
        const nsOut = await netnsExecOk(ctr.outsidePath(`/proc/${taskPid}/ns/net`), ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
        assert.match(nsOut.stdout, new RegExp(`inet ${ip.replace(/\./g, '\\.')}/`));

        const t0 = performance.now();
        const exit = await ctr.rm(c);
        t.diagnostic(`ctr rm (kill + DEL + delete): ${(performance.now() - t0).toFixed(0)} ms`);
        assert.equal(exit.code, 137, exit.stderr);
        // ctr ran DEL (with an empty CNI_NETNS): host-local released the address.
        assert.deepEqual(await allocated(net), []);
        assert.deepEqual(await vethsIn(host), []);
        assert.equal((await ctr.ctr(['container', 'ls', '-q'])).stdout.trim(), '');
      });
      assert.ok(pid > 0);
      assert.equal(existsSync(`/proc/${pid}`), false, 'sandbox PID 1 still running');
      assert.equal(existsSync(dir), false, 'temp dir left behind');
      assert.deepEqual(cgroupLeft(ns), []);
    });
  } finally {
    await rm(join(net.confDir, '..'), { recursive: true, force: true });
  }
});

test('harness: a failing CNI ADD is reported, and everything is removed when the test body throws', { timeout: 180_000 }, async () => {
  // One address only: the second container's ADD fails in host-local.
  const net = await referenceNet('pnone', 'pnone0', '10.244.252.0/24', { rangeStart: '10.244.252.10', rangeEnd: '10.244.252.10' });
  try {
    await withNetns('pnrt-fail', async (host) => {
      const opts = { cniConfDir: net.confDir, cniPluginDirs: [REFERENCE_CNI_DIR], hostNetns: host };
      let pid = 0;
      let dir = '';
      await assert.rejects(
        withPodmanEnv(opts, async (podman) => {
          ({ sandboxPid: pid, dir } = podman);
          await podman.run({ name: 'one', network: net.name, cmd: ['sleep', '300'] });
          await assert.rejects(podman.run({ name: 'two', network: net.name, cmd: ['sleep', '300'] }), (e: unknown) => {
            assert.ok(e instanceof HarnessError);
            assert.match(e.message, /no IP addresses available/);
            return true;
          });
          assert.deepEqual(await allocated(net), ['10.244.252.10']);
          throw new Error('body failed on purpose');
        }),
        /body failed on purpose/,
      );
      // The container left running by the failed body was removed (DEL ran) and all is gone.
      assert.deepEqual(await allocated(net), []);
      assert.deepEqual(await vethsIn(host), []);
      assert.equal(existsSync(`/proc/${pid}`), false);
      assert.equal(existsSync(dir), false);

      await withContainerd(opts, async (ctr) => {
        await ctr.run({ name: 'one', cmd: ['sleep', '300'] });
        await assert.rejects(ctr.run({ name: 'two', cmd: ['sleep', '300'] }), /no IP addresses available/);
        assert.deepEqual(await allocated(net), ['10.244.252.10']);
        // Left running on purpose: the environment's clean-up must stop it (and so run DEL).
      });
      assert.deepEqual(await allocated(net), []);
      assert.deepEqual(await vethsIn(host), []);
    });
  } finally {
    await rm(join(net.confDir, '..'), { recursive: true, force: true });
  }
});
