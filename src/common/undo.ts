/** Undo steps of a multi-step operation, run newest first when a later step fails. */
export class UndoStack {
  private readonly steps: { what: string; fn: () => Promise<unknown> }[] = [];

  push(what: string, fn: () => Promise<unknown>): void {
    this.steps.push({ what, fn });
  }

  /** Runs every step (newest first); returns the failures instead of throwing them. */
  async unwind(): Promise<string[]> {
    const failures: string[] = [];
    for (let s = this.steps.pop(); s; s = this.steps.pop()) {
      try {
        await s.fn();
      } catch (e) {
        failures.push(`${s.what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    return failures;
  }
}
