/**
 * Instruction flags (`--from=build`, `--link`), BuildKit's bflag.go: each instruction
 * declares what it accepts, then parses the words the parser collected. Errors are plain
 * FlagError messages; the caller attaches the location.
 */
import { withSuggestion } from './suggest.js';

export type FlagType = 'bool' | 'string' | 'strings';

export class FlagError extends Error {
  override name = 'FlagError';
}

export class Flag {
  /** 'true'/'false' for bools, the last value for strings. */
  value: string;
  /** Every value of a repeatable flag, in order. */
  readonly values: string[] = [];

  constructor(
    readonly name: string,
    readonly type: FlagType,
    def: string,
  ) {
    this.value = def;
  }

  get isTrue(): boolean {
    return this.value === 'true';
  }
}

export class BFlags {
  private readonly flags = new Map<string, Flag>();
  private readonly used = new Map<string, Flag>();

  constructor(private readonly args: readonly string[]) {}

  addBool(name: string, def: boolean): Flag {
    return this.add(new Flag(name, 'bool', def ? 'true' : 'false'));
  }

  addString(name: string, def: string): Flag {
    return this.add(new Flag(name, 'string', def));
  }

  addStrings(name: string): Flag {
    return this.add(new Flag(name, 'strings', ''));
  }

  private add(flag: Flag): Flag {
    // A duplicate declaration is a programming error, not user input.
    if (this.flags.has(flag.name)) throw new Error(`duplicate flag defined: ${flag.name}`);
    this.flags.set(flag.name, flag);
    return flag;
  }

  isUsed(name: string): boolean {
    return this.used.has(name);
  }

  /** Names of the flags given, sorted (BuildKit's Used()). */
  usedNames(): string[] {
    return [...this.used.keys()].sort();
  }

  parse(): void {
    for (const a of this.args) {
      // POSIX: `--` ends the options.
      if (a === '--') return;
      if (!a.startsWith('--')) throw new FlagError(`arg should start with -- : ${a}`);
      const eq = a.indexOf('=');
      const hasValue = eq >= 0;
      const flagName = hasValue ? a.slice(0, eq) : a;
      const value = hasValue ? a.slice(eq + 1) : '';
      const name = flagName.slice(2);
      const flag = this.flags.get(name);
      if (!flag) {
        throw new FlagError(withSuggestion(`unknown flag: ${flagName}`, name, [...this.flags.keys()], true));
      }
      if (this.used.has(name) && flag.type !== 'strings') {
        throw new FlagError(`duplicate flag specified: ${flagName}`);
      }
      this.used.set(name, flag);
      switch (flag.type) {
        case 'bool': {
          if (hasValue && value === '') throw new FlagError(`missing a value on flag: ${flagName}`);
          const lower = value.toLowerCase();
          if (lower === 'true' || lower === '') flag.value = 'true';
          else if (lower === 'false') flag.value = 'false';
          else throw new FlagError(`expecting boolean value for flag ${flagName}, not: ${value}`);
          break;
        }
        case 'string':
          if (!hasValue) throw new FlagError(`missing a value on flag: ${flagName}`);
          flag.value = value;
          break;
        case 'strings':
          if (!hasValue) throw new FlagError(`missing a value on flag: ${flagName}`);
          flag.value = value;
          flag.values.push(value);
          break;
      }
    }
  }
}
