/** Minimal, strict argument parsing on top of node:util parseArgs, with podnet's error codes. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CommonErrors, PodnetError } from '../common/errors.js';

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommandArgs<O extends Options>(argv: readonly string[], options: O, positionals = 0) {
  try {
    const res = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
    if (res.positionals.length > positionals) {
      throw new PodnetError(CommonErrors.INVALID_ARGUMENT, `unexpected argument ${JSON.stringify(res.positionals[positionals])}`);
    }
    return res;
  } catch (e) {
    if (e instanceof PodnetError) throw e;
    throw new PodnetError(CommonErrors.INVALID_ARGUMENT, (e as Error).message);
  }
}

export const outputOption = { output: { type: 'string', short: 'o' } } as const;
export const socketOption = { socket: { type: 'string' } } as const;
