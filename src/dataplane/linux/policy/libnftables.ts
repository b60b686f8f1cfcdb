/**
 * libnftables (the library the nft command is built on), called in-process through koffi: a
 * small transaction costs about 5 ms instead of about 27 ms for spawning nft against a large
 * table, because the context keeps its cache of the table between calls. Calls run on koffi's
 * worker thread (`.async`), so a large replacement does not block the agent's event loop; the
 * thread is in the process's network namespace (the agent's node). Errors are captured from the
 * context's buffer, not printed.
 */
import koffi from 'koffi';

type Fn = ((...args: unknown[]) => unknown) & { async: (...args: unknown[]) => void };

export interface NftRunResult {
  readonly ok: boolean;
  readonly error: string;
}

export class LibNftables {
  private constructor(
    private readonly ctx: unknown,
    private readonly runFn: Fn,
    private readonly errorOf: Fn,
  ) {}

  /** The library, or undefined when it cannot be loaded (the caller falls back to the nft command). */
  static load(): LibNftables | undefined {
    try {
      const lib = koffi.load('libnftables.so.1');
      const ctxNew = lib.func('void *nft_ctx_new(uint32_t flags)') as Fn;
      const bufferError = lib.func('int nft_ctx_buffer_error(void *ctx)') as Fn;
      const bufferOutput = lib.func('int nft_ctx_buffer_output(void *ctx)') as Fn;
      const runFn = lib.func('int nft_run_cmd_from_buffer(void *ctx, const char *buf)') as Fn;
      const errorOf = lib.func('const char *nft_ctx_get_error_buffer(void *ctx)') as Fn;
      const ctx = ctxNew(0);
      if (!ctx) return undefined;
      bufferError(ctx);
      bufferOutput(ctx);
      return new LibNftables(ctx, runFn, errorOf);
    } catch {
      return undefined;
    }
  }

  /** Runs a script as one transaction (like `nft -f -`), on a worker thread. */
  run(script: string): Promise<NftRunResult> {
    return new Promise((resolve, reject) => {
      this.runFn.async(this.ctx, script, (err: unknown, rc: unknown) => {
        if (err) return reject(err instanceof Error ? err : new Error(String(err)));
        // Read (and so clear) the error buffer after every call.
        const error = String(this.errorOf(this.ctx) ?? '');
        resolve({ ok: rc === 0, error: error.trim() });
      });
    });
  }
}
