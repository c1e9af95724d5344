/**
 * Docker's list filters, as every list endpoint reads them: values of one key are OR-ed (an
 * absent or empty key matches everything), keys are AND-ed by the caller; `label` takes `key`
 * or `key=value`.
 */

/** True when no value was given, or one of them passes `test`. */
export function anyValue(
  values: readonly string[] | undefined,
  test: (value: string) => boolean,
): boolean {
  return !values || values.length === 0 || values.some(test);
}

export function labelMatches(labels: Readonly<Record<string, string>>, filter: string): boolean {
  const eq = filter.indexOf('=');
  if (eq < 0) return filter in labels;
  return labels[filter.slice(0, eq)] === filter.slice(eq + 1);
}
