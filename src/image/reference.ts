import { SlipwayError } from '../errors.js';

/**
 * Docker image references, ported from github.com/distribution/reference (grammar, normalization, messages).
 * Error messages are Docker's exactly, so CLI output matches `docker build -t` / `docker tag`.
 */

export interface Reference {
  /** Registry host[:port]; `docker.io` for Docker Hub (never `index.docker.io`). */
  domain: string;
  /** Repository path without domain; Docker Hub official images get `library/`. */
  path: string;
  tag?: string;
  /** `algorithm:hex`, validated like go-digest. */
  digest?: string;
}

const DEFAULT_DOMAIN = 'docker.io';
const LEGACY_DEFAULT_DOMAIN = 'index.docker.io';
const OFFICIAL_REPO_PREFIX = 'library/';
const NAME_TOTAL_LENGTH_MAX = 255;

const alphanumeric = '[a-z0-9]+';
const separator = '(?:[._]|__|[-]+)';
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const domainNameComponent = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const optionalPort = '(?::[0-9]+)?';
const tagPat = '[\\w][\\w.-]{0,127}';
const digestPat = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}';
const ipv6address = '\\[(?:[a-fA-F0-9:]+)\\]';
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const host = `(?:${domainName}|${ipv6address})`;
const domainAndPort = `${host}${optionalPort}`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRe = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRe = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredTagRe = new RegExp(`^${tagPat}$`);
const anchoredIdentifierRe = /^[a-f0-9]{64}$/;
const anchoredDigestRe = new RegExp(`^${digestPat}$`);

/** go-digest's registered algorithms and their hex lengths. */
const DIGEST_HEX_LENGTH: Record<string, number> = { sha256: 64, sha384: 96, sha512: 128 };

function invalid(message: string): SlipwayError {
  return new SlipwayError('INVALID_REFERENCE', message);
}

/** go-digest Digest.Validate, with its messages. */
function validateDigest(d: string): void {
  const i = d.indexOf(':');
  if (i <= 0 || i + 1 === d.length) throw invalid('invalid checksum digest format');
  const alg = d.slice(0, i);
  const enc = d.slice(i + 1);
  const want = DIGEST_HEX_LENGTH[alg];
  if (want === undefined) {
    if (!anchoredDigestRe.test(d)) throw invalid('invalid checksum digest format');
    throw invalid('unsupported digest algorithm');
  }
  if (enc.length !== want) throw invalid('invalid checksum digest length');
  if (!/^[a-f0-9]+$/.test(enc)) throw invalid('invalid checksum digest format');
}

/** reference.Parse: the grammar only, no normalization (`python` has domain ''). */
export function parseRaw(s: string): Reference {
  const m = referenceRe.exec(s);
  if (!m) {
    if (s === '') throw invalid('repository name must have at least one component');
    if (referenceRe.test(s.toLowerCase())) throw invalid('repository name must be lowercase');
    throw invalid('invalid reference format');
  }
  const name = m[1]!;
  if (name.length > NAME_TOTAL_LENGTH_MAX) {
    throw invalid(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const nm = anchoredNameRe.exec(name)!;
  const ref: Reference = { domain: nm[1] ?? '', path: nm[2]! };
  if (m[2] !== undefined) ref.tag = m[2];
  if (m[3] !== undefined) {
    validateDigest(m[3]);
    ref.digest = m[3];
  }
  return ref;
}

function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf('/');
  let domain: string;
  let rest: string;
  if (slash === -1) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRest = name.slice(slash + 1);
  if (maybeDomain === 'localhost') [domain, rest] = [maybeDomain, maybeRest];
  else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) [domain, rest] = [DEFAULT_DOMAIN, maybeRest];
  else if (/[.:]/.test(maybeDomain)) [domain, rest] = [maybeDomain, maybeRest];
  // Namespaces are lowercase, so an uppercase first element can only be a host name.
  else if (maybeDomain.toLowerCase() !== maybeDomain) [domain, rest] = [maybeDomain, maybeRest];
  else [domain, rest] = [DEFAULT_DOMAIN, name];
  if (domain === DEFAULT_DOMAIN && !rest.includes('/')) rest = OFFICIAL_REPO_PREFIX + rest;
  return [domain, rest];
}

/**
 * reference.ParseNormalizedNamed: `python` → {docker.io, library/python}; tag/digest kept as given
 * (no default tag: see parseDockerRef).
 */
export function parseReference(s: string): Reference {
  if (anchoredIdentifierRe.test(s)) {
    throw invalid(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  const [domain, remainder] = splitDockerDomain(s);
  const tagSep = remainder.indexOf(':');
  const remote = tagSep > -1 ? remainder.slice(0, tagSep) : remainder;
  if (remote.toLowerCase() !== remote) {
    throw invalid(`invalid reference format: repository name (${remote}) must be lowercase`);
  }
  const ref = parseRaw(`${domain}/${remainder}`);
  if (ref.domain === '') throw invalid(`reference ${s} has no name`);
  return ref;
}

/**
 * reference.ParseDockerRef: normalized, `:latest` added when there is neither tag nor digest, and the tag
 * dropped when a digest is present (the digest alone identifies the content).
 */
export function parseDockerRef(s: string): Reference {
  const ref = parseReference(s);
  if (ref.digest !== undefined) return { domain: ref.domain, path: ref.path, digest: ref.digest };
  if (ref.tag === undefined) return { ...ref, tag: 'latest' };
  return ref;
}

/** `docker.io/library/python:3.11` form of a docker ref (default tag applied). */
export function normalizeReference(s: string): string {
  return formatReference(parseDockerRef(s));
}

export function isValidTag(tag: string): boolean {
  return anchoredTagRe.test(tag);
}

/** `domain/path` (the repository, no tag/digest). */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Full string: `domain/path[:tag][@digest]`. */
export function formatReference(ref: Reference): string {
  return `${repositoryName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** The repository as `docker images` shows it: `python`, `user/app`, `localhost:5000/x`, `ghcr.io/o/r`. */
export function familiarName(ref: Reference): string {
  if (ref.domain !== DEFAULT_DOMAIN) return repositoryName(ref);
  if (ref.path.startsWith(OFFICIAL_REPO_PREFIX)) {
    const rest = ref.path.slice(OFFICIAL_REPO_PREFIX.length);
    if (!rest.includes('/')) return rest;
  }
  return ref.path;
}

/** reference.FamiliarString: familiar name plus `:tag` / `@digest` as present. */
export function familiarString(ref: Reference): string {
  return `${familiarName(ref)}${ref.tag !== undefined ? `:${ref.tag}` : ''}${ref.digest !== undefined ? `@${ref.digest}` : ''}`;
}

/** Returns the normalized reference, or undefined when `s` is not a valid reference (no throw). */
export function tryParseDockerRef(s: string): Reference | undefined {
  try {
    return parseDockerRef(s);
  } catch {
    return undefined;
  }
}
