/** The bench tools' command lines: `--name=value` options and the CLI builds given as plain arguments. */

/** The value of `--name=value`, if given. */
export const option = (name: string): string | undefined =>
  process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);

/** A numeric `--name=N`, or `dflt`. */
export const numberOption = (name: string, dflt: number): number => {
  const v = option(name);
  return v === undefined ? dflt : Number(v);
};

/** The arguments that are not options (the CLI builds to compare). */
export const positionals = (): string[] => process.argv.slice(2).filter((a) => !a.startsWith('--'));
