/**
 * Platform specifiers as containerd's platforms package reads them (`linux/arm64`,
 * `linux/arm/v7`, `amd64`), normalised the same way, for FROM --platform and the
 * automatic BUILD and TARGET platform ARGs.
 */

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

export class PlatformError extends Error {
  override name = 'PlatformError';
}

const KNOWN_OS = new Set([
  'aix',
  'android',
  'darwin',
  'dragonfly',
  'freebsd',
  'hurd',
  'illumos',
  'ios',
  'js',
  'linux',
  'nacl',
  'netbsd',
  'openbsd',
  'plan9',
  'solaris',
  'windows',
  'zos',
]);

const KNOWN_ARCH = new Set([
  '386',
  'amd64',
  'amd64p32',
  'arm',
  'armbe',
  'arm64',
  'arm64be',
  'ppc64',
  'ppc64le',
  'loong64',
  'mips',
  'mipsle',
  'mips64',
  'mips64le',
  'mips64p32',
  'mips64p32le',
  'ppc',
  'riscv',
  'riscv64',
  's390',
  's390x',
  'sparc',
  'sparc64',
  'wasm',
]);

/** containerd normalizeArch. */
function normalizeArch(arch: string, variant: string): { architecture: string; variant: string } {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case 'i386':
      return { architecture: '386', variant: '' };
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      return { architecture: 'amd64', variant: v === 'v1' ? '' : v };
    case 'aarch64':
    case 'arm64':
      return { architecture: 'arm64', variant: v === '8' || v === 'v8' ? '' : v };
    case 'armhf':
      return { architecture: 'arm', variant: 'v7' };
    case 'armel':
      return { architecture: 'arm', variant: 'v6' };
    case 'arm':
      if (v === '' || v === '7') return { architecture: 'arm', variant: 'v7' };
      if (v === '5' || v === '6' || v === '8') return { architecture: 'arm', variant: `v${v}` };
      return { architecture: 'arm', variant: v };
    default:
      return { architecture: a, variant: v };
  }
}

function normalizeOS(os: string): string {
  const o = os.toLowerCase();
  return o === 'macos' ? 'darwin' : o;
}

const COMPONENT = /^[A-Za-z0-9_.-]+$/;

function make(os: string, architecture: string, variant: string): PlatformSpec {
  return variant === '' ? { os, architecture } : { os, architecture, variant };
}

/** The platform this process runs on, in OCI terms. */
export function hostPlatform(): PlatformSpec {
  const map: Record<string, string> = {
    x64: 'amd64',
    ia32: '386',
    arm: 'arm',
    arm64: 'arm64',
    ppc64: 'ppc64le',
  };
  const { architecture, variant } = normalizeArch(map[process.arch] ?? process.arch, '');
  return make('linux', architecture, variant);
}

/** containerd platforms.Parse; `defaults` fills what a one-word specifier leaves out. */
export function parsePlatform(spec: string, defaults: PlatformSpec = hostPlatform()): PlatformSpec {
  const unknown = () =>
    new PlatformError(`${JSON.stringify(spec)}: unknown operating system or architecture: invalid argument`);
  const parts = spec.split('/');
  for (const p of parts) {
    if (!COMPONENT.test(p)) {
      throw new PlatformError(`${JSON.stringify(spec)}: invalid platform component: invalid argument`);
    }
  }
  if (parts.length === 1) {
    const word = parts[0] as string;
    const os = normalizeOS(word);
    if (KNOWN_OS.has(os)) {
      return os === defaults.os
        ? make(os, defaults.architecture, defaults.variant ?? '')
        : make(os, defaults.architecture, '');
    }
    const { architecture, variant } = normalizeArch(word, '');
    if (KNOWN_ARCH.has(architecture)) return make(defaults.os, architecture, variant);
    throw unknown();
  }
  if (parts.length === 2) {
    const { architecture, variant } = normalizeArch(parts[1] as string, '');
    return make(normalizeOS(parts[0] as string), architecture, variant);
  }
  if (parts.length === 3) {
    const { architecture, variant } = normalizeArch(parts[1] as string, parts[2] as string);
    return make(normalizeOS(parts[0] as string), architecture, variant);
  }
  throw new PlatformError(`${JSON.stringify(spec)}: cannot parse platform specifier: invalid argument`);
}

/** `os/arch[/variant]` (platforms.Format). */
export function formatPlatform(p: PlatformSpec): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/** Applies containerd's normalisation to an already split platform. */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const { architecture, variant } = normalizeArch(p.architecture, p.variant ?? '');
  return make(normalizeOS(p.os), architecture, variant);
}
