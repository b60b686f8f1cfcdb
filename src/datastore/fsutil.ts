/** Small synchronous file-system helpers for durable writes. */
import * as fs from 'node:fs';

/** fsyncs a directory so that a create, rename or unlink inside it survives power loss. */
export function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes a file atomically: tmp file, fsync, rename over the target, fsync the directory. */
export function writeFileAtomic(dir: string, name: string, data: string): void {
  const tmp = `${dir}/${name}.tmp`;
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    const buf = Buffer.from(data, 'utf8');
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, `${dir}/${name}`);
  fsyncDir(dir);
}

export function errnoCode(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string' ? e.code : undefined;
}
