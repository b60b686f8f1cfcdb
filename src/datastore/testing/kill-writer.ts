/**
 * Child process for the kill -9 test: opens an embedded store and writes until killed,
 * printing "ack <key> <value>" on stdout after each write's promise resolved.
 * Usage: node kill-writer.js <dir> <workers> <round>
 */
import { EmbeddedDatastore } from '../embedded.js';
import { isPodnetError } from '../../common/errors.js';

async function main(): Promise<void> {
  const [dir, workersArg, round] = process.argv.slice(2);
  if (!dir || !workersArg || !round) throw new Error('usage: kill-writer <dir> <workers> <round>');
  const store = await EmbeddedDatastore.open(dir, { compactRecords: 400 });
  process.stdout.write(`ready ${JSON.stringify(store.recovery)}\n`);
  let next = 0;
  const creator = async (): Promise<never> => {
    for (;;) {
      const key = `/kill/${round}/${String(next++).padStart(6, '0')}`;
      const value = JSON.stringify({ key, pad: 'p'.repeat(next % 700) });
      await store.create(key, value);
      process.stdout.write(`ack ${key} ${value}\n`);
    }
  };
  const counter = async (): Promise<never> => {
    for (;;) {
      const cur = await store.get('/kill/counter');
      const n = cur ? Number(cur.value) + 1 : 1;
      try {
        if (cur) await store.update('/kill/counter', String(n), cur.revision);
        else await store.create('/kill/counter', String(n));
        process.stdout.write(`ack /kill/counter ${n}\n`);
      } catch (e) {
        if (!isPodnetError(e)) throw e;
      }
    }
  };
  await Promise.all([counter(), ...Array.from({ length: Number(workersArg) }, creator)]);
}

main().catch((e: unknown) => {
  process.stderr.write(`kill-writer: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
