import type { z } from 'zod';

/** The zod definition fields this walk reads (zod 4's `_zod.def`). */
interface Def {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  in?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  options?: z.ZodType[];
}

const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The schemas a value at this schema may be, wrappers (default, optional, transform) removed. */
function unwrap(s: z.ZodType): z.ZodType[] {
  const d = defOf(s);
  if (d.innerType) return unwrap(d.innerType);
  if (d.type === 'pipe' && d.in) return unwrap(d.in);
  if (d.type === 'union' && d.options) return d.options.flatMap(unwrap);
  return [s];
}

/**
 * The keys the language allows in the object at `path` (as in a zod issue's path), for a
 * did-you-mean on an unknown key. Empty when the path leads to no object.
 */
export function keysAt(root: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let here = unwrap(root);
  for (const step of path) {
    here = here.flatMap((s) => {
      const d = defOf(s);
      if (typeof step === 'number' && d.type === 'array' && d.element) return unwrap(d.element);
      if (typeof step === 'string' && d.type === 'object' && d.shape?.[step]) return unwrap(d.shape[step]);
      if (typeof step === 'string' && d.type === 'record' && d.valueType) return unwrap(d.valueType);
      return [];
    });
  }
  return [...new Set(here.flatMap((s) => Object.keys(defOf(s).shape ?? {})))];
}
