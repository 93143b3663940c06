import { SlipwayError } from '../errors.js';
import type { Descriptor, Platform } from '../image/types.js';

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

const ARCH_ALIASES: Record<string, string> = {
  x86_64: 'amd64',
  x86: '386',
  i386: '386',
  aarch64: 'arm64',
  armhf: 'arm',
  armel: 'arm',
};

/** Node's process.arch in OCI terms. */
export function hostPlatform(): PlatformSpec {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  const architecture = map[process.arch] ?? process.arch;
  return normalizePlatform({ os: 'linux', architecture });
}

/** containerd's platforms.Normalize: arch aliases and default variants (arm64 → v8, arm → v7). */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const architecture = ARCH_ALIASES[p.architecture.toLowerCase()] ?? p.architecture.toLowerCase();
  let variant = p.variant?.toLowerCase();
  if (architecture === 'arm64' && (variant === undefined || variant === '' || variant === '8'))
    variant = 'v8';
  if (architecture === 'arm' && (variant === undefined || variant === '' || variant === '7')) variant = 'v7';
  if (architecture === 'amd64' && variant === 'v1') variant = undefined;
  const out: PlatformSpec = { os: p.os.toLowerCase(), architecture };
  if (variant) out.variant = variant;
  return out;
}

/** `linux/amd64`, `linux/arm64/v8`, `linux/arm/v7`; an OS alone takes the host's architecture. */
export function parsePlatform(text: string): PlatformSpec {
  const parts = text.trim().split('/');
  if (parts.some((p) => p === '') || parts.length > 3) {
    throw new SlipwayError('USAGE', `"${text}": unknown operating system or architecture: invalid argument`);
  }
  if (parts.length === 1) {
    const host = hostPlatform();
    if (parts[0] === 'linux') return host;
    return normalizePlatform({ os: 'linux', architecture: parts[0]! });
  }
  const out: PlatformSpec = { os: parts[0]!, architecture: parts[1]! };
  if (parts[2] !== undefined) out.variant = parts[2];
  return normalizePlatform(out);
}

export function formatPlatform(p: PlatformSpec): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

export function platformMatches(have: Platform | PlatformSpec | undefined, want: PlatformSpec): boolean {
  if (!have) return false;
  const h = normalizePlatform({
    os: have.os,
    architecture: have.architecture,
    ...(have.variant ? { variant: have.variant } : {}),
  });
  const w = normalizePlatform(want);
  return h.os === w.os && h.architecture === w.architecture && (h.variant ?? '') === (w.variant ?? '');
}

/** BuildKit's attestation manifests sit in the index as `unknown/unknown` with this annotation. */
export function isAttestation(d: Descriptor): boolean {
  return (
    d.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest' ||
    (d.platform?.os === 'unknown' && d.platform.architecture === 'unknown')
  );
}

/**
 * The index entry for `want`: first exact match, skipping attestations. For arm, a lower variant may run
 * on a higher one (v6 image on v7 host) when no exact match exists, as containerd's matcher allows.
 */
export function selectManifest(manifests: readonly Descriptor[], want: PlatformSpec): Descriptor | undefined {
  const candidates = manifests.filter((d) => !isAttestation(d) && d.platform);
  const exact = candidates.find((d) => platformMatches(d.platform, want));
  if (exact) return exact;
  const w = normalizePlatform(want);
  if (w.architecture === 'arm' && w.variant) {
    const level = Number(w.variant.slice(1));
    for (let v = level - 1; v >= 5; v--) {
      const hit = candidates.find((d) => platformMatches(d.platform, { ...w, variant: `v${v}` }));
      if (hit) return hit;
    }
  }
  return undefined;
}
