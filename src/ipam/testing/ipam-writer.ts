/**
 * Child process for the IPAM kill -9 test: assigns addresses on an embedded store until killed,
 * printing "ack <handle> <address>..." after each assign resolved.
 * Usage: node ipam-writer.js <dir> <round> <workers>
 */
import { EmbeddedDatastore } from '../../datastore/embedded.js';
import { DatastoreIpam } from '../ipam.js';
import { createPool } from '../pools.js';
import { request } from '../test-helpers.js';

async function main(): Promise<void> {
  const [dir, round, workers] = process.argv.slice(2);
  if (!dir || !round || !workers) throw new Error('usage: ipam-writer <dir> <round> <workers>');
  const store = await EmbeddedDatastore.open(dir, { compactRecords: 300 });
  await createPool(store, { name: 'v4', cidr: '10.50.0.0/16', blockSize: 28 });
  await createPool(store, { name: 'v6', cidr: 'fd00:50::/64', blockSize: 124 });
  const ipam = new DatastoreIpam(store, 'node-a');
  await ipam.start();
  process.stdout.write('ready\n');
  let next = 0;
  const worker = async (): Promise<never> => {
    for (;;) {
      const handle = `r${round}-${next++}/eth0`;
      const got = await ipam.assign(request('node-a', handle, [4, 6]));
      process.stdout.write(`ack ${handle} ${got.map((a) => a.address).join(' ')}\n`);
    }
  };
  await Promise.all(Array.from({ length: Number(workers) }, worker));
}

main().catch((e: unknown) => {
  process.stderr.write(`ipam-writer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
