import { SlipwayError } from '../errors.js';
import { readLayeredFile } from './layered.js';

export interface PasswdEntry {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

export interface GroupEntry {
  name: string;
  gid: number;
  members: string[];
}

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** Go's strconv.Atoi as runc's passwd parser uses it: a bad number reads as 0. */
function atoi(s: string | undefined): number {
  return s !== undefined && /^[+-]?\d+$/.test(s) ? Number(s) : 0;
}

function lines(text: string): string[][] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .map((l) => l.split(':'));
}

/** libcontainer/user.ParsePasswd: `name:pass:uid:gid:gecos:home:shell`. */
export function parsePasswd(text: string): PasswdEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    uid: atoi(f[2]),
    gid: atoi(f[3]),
    home: f[5] ?? '',
    shell: f[6] ?? '',
  }));
}

/** libcontainer/user.ParseGroup: `name:pass:gid:member,member`. */
export function parseGroup(text: string): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '',
    gid: atoi(f[2]),
    members: f[3] ? f[3].split(',') : [],
  }));
}

/** Where a user lookup reads /etc/passwd and /etc/group from. */
export type UserDb = { passwd: PasswdEntry[] | undefined; group: GroupEntry[] | undefined };

/** Layer dirs top-most (upper) first, or a single merged rootfs. A missing file is `undefined`. */
export function readUserDb(rootfsDirs: string | readonly string[]): UserDb {
  const dirs = typeof rootfsDirs === 'string' ? [rootfsDirs] : rootfsDirs;
  const passwd = readLayeredFile(dirs, '/etc/passwd');
  const group = readLayeredFile(dirs, '/etc/group');
  return {
    passwd: passwd === undefined ? undefined : parsePasswd(passwd.toString('utf8')),
    group: group === undefined ? undefined : parseGroup(group.toString('utf8')),
  };
}

const MAX_ID = 2 ** 31 - 1;
const numeric = (s: string) => /^[+-]?\d+$/.test(s);

function userError(message: string): SlipwayError {
  return new SlipwayError('RUNTIME', message);
}

/** BuildKit's parseUID: a decimal uint32 or the word `root`. */
function parseId(s: string): number | undefined {
  if (s === 'root') return 0;
  return /^\d+$/.test(s) && Number(s) <= 2 ** 32 - 1 ? Number(s) : undefined;
}

/** BuildKit's fast path: both halves numeric (or `root`), no file lookup and no supplementary groups. */
function parseUidGid(spec: string): { uid: number; gid: number } | undefined {
  const i = spec.indexOf(':');
  if (i === -1) return undefined;
  const uid = parseId(spec.slice(0, i));
  const gid = parseId(spec.slice(i + 1));
  return uid === undefined || gid === undefined ? undefined : { uid, gid };
}

/**
 * The identity a RUN (or `docker run --user`) executes as — BuildKit's GetUser, i.e. runc's
 * GetExecUser: `user[:group]` by name or number. An unknown name fails; a number missing from
 * passwd is used as is with gid 0. Supplementary groups come from /etc/group membership only
 * when no group was given.
 */
export function resolveUserFromDb(db: UserDb, userSpec: string): ResolvedUser {
  if (userSpec === '') return { uid: 0, gid: 0, additionalGids: [] };
  const fast = parseUidGid(userSpec);
  if (fast) return { ...fast, additionalGids: [] };

  const [userArg = '', groupArg = ''] = userSpec.split(':');
  const result: ResolvedUser = { uid: 0, gid: 0, additionalGids: [] };

  const user = (db.passwd ?? []).find((u) =>
    numeric(userArg) ? u.uid === Number(userArg) : u.name === userArg,
  );
  let matchedName = '';
  if (user) {
    matchedName = user.name;
    result.uid = user.uid;
    result.gid = user.gid;
  } else if (userArg !== '') {
    if (!numeric(userArg))
      throw userError(`unable to find user ${userArg}: no matching entries in passwd file`);
    result.uid = Number(userArg);
    if (result.uid < 0 || result.uid > MAX_ID) throw userError(`uids and gids must be in range 0-${MAX_ID}`);
  }

  if (groupArg !== '' || matchedName !== '') {
    const groups = (db.group ?? []).filter((g) => {
      if (groupArg === '') return g.members.includes(matchedName);
      return numeric(groupArg) ? g.gid === Number(groupArg) : g.name === groupArg;
    });
    if (groupArg !== '') {
      if (groups[0]) {
        result.gid = groups[0].gid;
      } else {
        if (!numeric(groupArg))
          throw userError(`unable to find group ${groupArg}: no matching entries in group file`);
        result.gid = Number(groupArg);
        if (result.gid < 0 || result.gid > MAX_ID)
          throw userError(`uids and gids must be in range 0-${MAX_ID}`);
      }
    } else {
      result.additionalGids = groups.map((g) => g.gid);
    }
  }
  return result;
}

/** `resolveUserFromDb` reading the image's /etc/passwd and /etc/group (layer dirs upper first). */
export function resolveUser(rootfsDirs: string | readonly string[], userSpec: string): ResolvedUser {
  return resolveUserFromDb(readUserDb(rootfsDirs), userSpec);
}

/** `user[:group]` split at the first colon, as BuildKit's readUser splits it. */
function splitChown(chown: string): { userPart: string; groupPart: string | undefined } {
  const i = chown.indexOf(':');
  return i === -1
    ? { userPart: chown, groupPart: undefined }
    : { userPart: chown.slice(0, i), groupPart: chown.slice(i + 1) };
}

/** `COPY --chown`/`ADD --chown` ids — BuildKit's llb.WithUser + readUser semantics. */
export function chownFromDb(db: UserDb, chown: string): { uid: number; gid: number } {
  const { userPart, groupPart } = splitChown(chown);
  let uid = 0;
  let gid = 0;
  const uidNum = parseId(userPart);
  if (uidNum !== undefined) {
    // A numeric user alone means the same number for the group.
    uid = uidNum;
    gid = uidNum;
  } else if (userPart !== '') {
    // BuildKit does not fail on an unknown name: the ids stay 0.
    const u = (db.passwd ?? []).find((p) => p.name === userPart);
    if (u) {
      uid = u.uid;
      gid = u.gid;
    }
  }
  if (groupPart !== undefined) {
    const gidNum = parseId(groupPart);
    // `user:` chowns to group 0 in BuildKit (moby/buildkit#3555).
    if (gidNum !== undefined) gid = gidNum;
    else if (groupPart === '') gid = 0;
    else {
      const g = (db.group ?? []).find((e) => e.name === groupPart);
      if (g) gid = g.gid;
    }
  }
  return { uid, gid };
}

/** `chownFromDb` reading the destination image's /etc/passwd and /etc/group (layer dirs upper first). */
export function lookupUserGroupForChown(
  rootfsDirs: string | readonly string[],
  chown: string,
  opts: { needsDb?: boolean } = {},
): { uid: number; gid: number } {
  const isName = (p: string | undefined) => p !== undefined && p !== '' && parseId(p) === undefined;
  const { userPart: user, groupPart: group } = splitChown(chown);
  if (!isName(user) && !isName(group)) return chownFromDb({ passwd: undefined, group: undefined }, chown);
  const db = readUserDb(rootfsDirs);
  // COPY --chown=name on an image without the file to look it up in fails in BuildKit
  // ("invalid user index: -1"), where an image that has the file but not the name gets 0.
  if (opts.needsDb && isName(user) && db.passwd === undefined) {
    throw new SlipwayError('BUILD', `unable to find user ${user}: the image has no /etc/passwd`);
  }
  if (opts.needsDb && isName(group) && db.group === undefined) {
    throw new SlipwayError('BUILD', `unable to find group ${group}: the image has no /etc/group`);
  }
  return chownFromDb(db, chown);
}
