/** Typed access to the shared dockerignore conformance data (read in place, never copied). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conformanceDir } from '../../helpers/paths.js';

export interface PatternCase {
  id: string;
  group: string;
  patterns: string[];
  path: string;
  expected: boolean | null;
  error?: string;
  errorAt?: 'new' | 'match';
  platform?: string;
}

export interface CleanPatternsCase {
  patterns: string[];
  patternCount?: number;
  exclusions?: boolean;
  error?: string;
}

export interface IgnoreFileCase {
  input: string | null;
  expected: string[];
}

export interface WalkCase {
  id: string;
  tree: [string, 'file' | 'dir'][];
  excludePatterns: string[];
  expectedWalk?: string[];
  openable?: string[];
  notFound?: string[];
  error?: string;
}

export interface ScenarioCase {
  id: string;
  dockerfile?: string;
  files: Record<string, string | null>;
  present?: Record<string, string>;
  absent?: string[];
  expectError?: boolean;
  builds?: { dockerfile: string; present: string[]; absent: string[] }[];
}

export interface CompileCase {
  pattern: string;
  matchType: 'exact' | 'prefix' | 'suffix' | 'regexp';
  regexp: string | null;
}

export interface DockerignoreCases {
  cases: PatternCase[];
  cleanPatterns: CleanPatternsCase[];
  ignorefile: IgnoreFileCase[];
  walk: WalkCase[];
  contextScenarios: ScenarioCase[];
  compile: CompileCase[];
}

export const dockerignoreDir = join(conformanceDir, 'dockerignore');

export function loadCases(): DockerignoreCases {
  return JSON.parse(readFileSync(join(dockerignoreDir, 'cases.json'), 'utf8')) as DockerignoreCases;
}
