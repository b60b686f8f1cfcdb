/**
 * A busybox root filesystem built from Debian's busybox-static (no registry access here), as a
 * plain directory (podman --rootfs) and as an OCI image tarball (`ctr image import`).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runOk } from './proc.js';

export const BUSYBOX = '/bin/busybox';

/**
 * Fills dir (created if needed) with a minimal busybox tree: /bin/busybox plus one symlink per
 * applet made by `busybox --install -s /bin` run chrooted into dir, so that the links point
 * at /bin/busybox inside the container rather than at the host path.
 */
export async function buildBusyboxRootfs(dir: string): Promise<void> {
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'proc', 'sys', 'dev', 'root', 'run', 'var/run', 'tmp']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  await chmod(join(dir, 'tmp'), 0o1777);
  await copyFile(BUSYBOX, join(dir, 'bin', 'busybox'));
  await chmod(join(dir, 'bin', 'busybox'), 0o755);
  await runOk(['chroot', dir, '/bin/busybox', '--install', '-s', '/bin'], { timeoutMs: 20_000 });
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

interface Blob {
  readonly digest: string;
  readonly size: number;
}

/** Moves/writes a blob into an OCI layout's blobs/sha256 directory. */
async function putBlob(layout: string, data: Buffer | { file: string }): Promise<Blob> {
  const dir = join(layout, 'blobs', 'sha256');
  await mkdir(dir, { recursive: true });
  if (Buffer.isBuffer(data)) {
    const hex = createHash('sha256').update(data).digest('hex');
    await writeFile(join(dir, hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  }
  const hex = await sha256File(data.file);
  const { size } = await stat(data.file);
  await rename(data.file, join(dir, hex));
  return { digest: `sha256:${hex}`, size };
}

/**
 * Builds an OCI image-layout tarball holding one uncompressed busybox layer, tagged `ref` via
 * the io.containerd.image.name annotation (what `ctr image import` names the image).
 * Returns the tarball's path (inside workDir).
 */
export async function buildBusyboxOciImage(workDir: string, ref: string): Promise<string> {
  const rootfs = join(workDir, 'rootfs');
  const layout = join(workDir, 'layout');
  await buildBusyboxRootfs(rootfs);
  await mkdir(layout, { recursive: true });
  const layerTar = join(workDir, 'layer.tar');
  // Reproducible layer: sorted names, root-owned, fixed mtime. GNU tar writes "./bin/..." names.
  await runOk(['tar', '--sort=name', '--owner=0', '--group=0', '--numeric-owner', '--mtime=@0', '-C', rootfs, '-cf', layerTar, '.'], {
    timeoutMs: 60_000,
  });
  const layer = await putBlob(layout, { file: layerTar });
  const config = await putBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        architecture: process.arch === 'x64' ? 'amd64' : process.arch,
        os: 'linux',
        config: { Env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], Cmd: ['sh'], WorkingDir: '/' },
        rootfs: { type: 'layers', diff_ids: [layer.digest] },
        history: [{ created_by: 'podnet test harness: busybox-static --install -s' }],
      }),
    ),
  );
  const manifest = await putBlob(
    layout,
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...layer }],
      }),
    ),
  );
  const colon = ref.lastIndexOf(':');
  const tag = colon > ref.lastIndexOf('/') ? ref.slice(colon + 1) : 'latest';
  await writeFile(
    join(layout, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          platform: { architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux' },
          annotations: { 'io.containerd.image.name': ref, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const tarball = join(workDir, 'image.tar');
  await runOk(['tar', '--owner=0', '--group=0', '--numeric-owner', '-C', layout, '-cf', tarball, 'oci-layout', 'index.json', 'blobs'], {
    timeoutMs: 60_000,
  });
  return tarball;
}
