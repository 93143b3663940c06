import type { ContainerConfig } from '../image/types.js';
import { type ImageRecord, noSuchImage } from '../store/records.js';
import type { Store } from '../store/store.js';
import { type GoTemplate, goJson, goStruct, nilMap, nilSlice } from './gotemplate.js';
import { namesForDisplay } from './list.js';

/**
 * `docker image inspect` JSON, shaped like moby's api/types/image.InspectResponse (API 1.44–1.49: no
 * Container/ContainerConfig/VirtualSize). Config mirrors container.Config with its zero-value keys.
 */
export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  DockerVersion: string;
  Author: string;
  Config: Record<string, unknown>;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  GraphDriver: { Data: null; Name: string };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** Go's zero time.Time, which Docker prints for images never tagged in this daemon's lifetime. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

export function dockerContainerConfig(c: ContainerConfig | undefined): Record<string, unknown> {
  const cfg = c ?? {};
  const out: Record<string, unknown> = {
    Hostname: '',
    Domainname: '',
    User: cfg.User ?? '',
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
  };
  if (cfg.ExposedPorts && Object.keys(cfg.ExposedPorts).length > 0) out.ExposedPorts = cfg.ExposedPorts;
  out.Tty = false;
  out.OpenStdin = false;
  out.StdinOnce = false;
  out.Env = cfg.Env ?? nilSlice;
  out.Cmd = cfg.Cmd ?? nilSlice;
  if (cfg.Healthcheck) out.Healthcheck = goStruct({ ...cfg.Healthcheck }, '*container.HealthConfig');
  if (cfg.ArgsEscaped) out.ArgsEscaped = true;
  out.Image = '';
  out.Volumes = cfg.Volumes ?? nilMap;
  out.WorkingDir = cfg.WorkingDir ?? '';
  out.Entrypoint = cfg.Entrypoint ?? nilSlice;
  out.OnBuild = cfg.OnBuild ?? nilSlice;
  out.Labels = cfg.Labels ?? nilMap;
  if (cfg.StopSignal) out.StopSignal = cfg.StopSignal;
  if (cfg.Shell && cfg.Shell.length > 0) out.Shell = cfg.Shell;
  return goStruct(out, '*container.Config');
}

export function imageInspect(img: ImageRecord): ImageInspect {
  const cfg = img.config as typeof img.config & { comment?: string; author?: string };
  const { tags, digests } = namesForDisplay(img);
  const out: ImageInspect = {
    Id: img.id,
    RepoTags: tags,
    RepoDigests: digests,
    Parent: '',
    // moby falls back to the newest history entry's comment (`Imported from …`, `buildkit.dockerfile.v0`).
    Comment: cfg.comment || (cfg.history?.at(-1)?.comment ?? ''),
    Created: cfg.created ?? '',
    DockerVersion: '',
    Author: cfg.author ?? '',
    Config: dockerContainerConfig(cfg.config),
    Architecture: cfg.architecture,
    Os: cfg.os,
    Size: img.size,
    // Layers live as extracted snapshot directories stacked with overlayfs at run time; there is no
    // per-image graph driver directory to report.
    GraphDriver: goStruct({ Data: null, Name: 'overlayfs' }, 'types.GraphDriverData'),
    RootFS: goStruct({ Type: 'layers', Layers: [...cfg.rootfs.diff_ids] }, 'image.RootFS'),
    Metadata: goStruct({ LastTagTime: ZERO_TIME }, 'image.Metadata'),
  };
  if (cfg.variant) out.Variant = cfg.variant;
  if (cfg['os.version']) out.OsVersion = cfg['os.version'];
  return reorder(out);
}

/** Keep Go's field order when optional fields were added after construction. */
function reorder(o: ImageInspect): ImageInspect {
  const order = [
    'Id',
    'RepoTags',
    'RepoDigests',
    'Parent',
    'Comment',
    'Created',
    'DockerVersion',
    'Author',
    'Config',
    'Architecture',
    'Variant',
    'Os',
    'OsVersion',
    'Size',
    'GraphDriver',
    'RootFS',
    'Metadata',
  ];
  const out: Record<string, unknown> = {};
  for (const k of order) if (k in o) out[k] = (o as unknown as Record<string, unknown>)[k];
  return goStruct(out as unknown as ImageInspect, 'image.InspectResponse');
}

/** What inspect can look a name up as; containers register here when they exist. */
export type InspectKind = 'image' | 'container' | 'any';

/** Resolve a name to an inspectable object, or undefined when this kind has no such object. */
export type InspectLookup = (name: string) => Promise<object | undefined>;

export interface InspectResult {
  objects: object[];
  /** Docker's per-name error lines, in argument order. */
  errors: string[];
}

/** Extra lookups tried after images by `slipway inspect` (e.g. containers, once they exist). */
export const extraInspectLookups: InspectLookup[] = [];

export async function inspectObjects(
  store: Store,
  names: readonly string[],
  kind: InspectKind,
): Promise<InspectResult> {
  const objects: object[] = [];
  const errors: string[] = [];
  for (const name of names) {
    let found: object | undefined;
    // Docker looks for a container before an image of the same name.
    if (kind !== 'image') {
      for (const lookup of extraInspectLookups) {
        found = await lookup(name);
        if (found) break;
      }
    }
    if (!found && kind !== 'container') {
      try {
        const img = await store.tryResolve(name);
        if (img) found = imageInspect(img);
      } catch (e) {
        errors.push(`Error response from daemon: ${(e as Error).message}`);
        continue;
      }
    }
    if (found) objects.push(found);
    else if (kind === 'any') errors.push(`Error: No such object: ${name}`);
    else if (kind === 'container') errors.push(`Error response from daemon: No such container: ${name}`);
    else errors.push(`Error response from daemon: ${noSuchImage(name).message}`);
  }
  return { objects, errors };
}

/** docker's IndentedInspector: a 4-space indented JSON array, HTML-escaped as json.Marshal does. */
export function inspectJson(objects: readonly object[]): string {
  if (objects.length === 0) return '[]\n';
  const text = JSON.stringify(objects, null, 4)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026');
  return `${text}\n`;
}

/**
 * docker's TemplateInspector: the template runs on the typed object; when that fails (unknown field), it
 * runs again on the raw JSON decoded into maps, where unknown keys print `<no value>`.
 */
/**
 * docker/cli's TemplateInspector: each object runs against its typed form, then against its raw JSON
 * with `missingkey=error`; an object failing both adds an error and no output line. When no object
 * printed anything, the output is one empty line (the inspector's Flush of an empty buffer).
 */
export function inspectTemplate(
  tmpl: GoTemplate,
  objects: readonly object[],
): { out: string; errors: string[] } {
  let out = '';
  const errors: string[] = [];
  for (const o of objects) {
    try {
      out += `${tmpl.execute(o)}\n`;
    } catch {
      try {
        out += `${tmpl.execute(JSON.parse(goJson(o)) as unknown, { missingKey: 'error' })}\n`;
      } catch (e) {
        errors.push(`template parsing error: ${(e as Error).message}`);
      }
    }
  }
  return { out: out === '' ? '\n' : out, errors };
}
