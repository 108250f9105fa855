/**
 * The command line's values and the errors about them, apart from src/cli/command.ts (which
 * prints through the stdout guard): the CLI's start-up bundle (src/cli/startup.ts) reads the
 * server options with these before anything touches stdout.
 */
import type { ParseArgsConfig } from 'node:util';

export type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;
export type OptionValue = string | boolean | string[] | undefined;
export type Values = Record<string, OptionValue>;

/** The command line is wrong: exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

// Typed readers of parsed values (parseArgs types them by the option's declared type).
export const str = (v: Values, k: string): string | undefined => v[k] as string | undefined;
export const strs = (v: Values, k: string): string[] => (v[k] as string[] | undefined) ?? [];
export const flag = (v: Values, k: string): boolean => v[k] === true;

/** A non-negative integer option, or a usage error. */
export function intOption(v: Values, k: string, min = 0): number | undefined {
  const s = str(v, k);
  if (s === undefined) return undefined;
  const n = /^[0-9]+$/.test(s) ? Number(s) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${k} needs ${min === 0 ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(s)}`);
  return n;
}

/** A --registry-url value, checked. */
export function registryUrl(v: Values): string | undefined {
  const url = str(v, 'registry-url');
  if (url !== undefined && !/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--registry-url needs a postgresql:// URL');
  return url;
}
