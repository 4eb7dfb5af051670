import type { ParseNode } from './parse-node.js';

/**
 * libpg_query for Postgres 13 and 14 writes values the old way: String/Float/BitString
 * carry `str`, and A_Const wraps its value in `val`. Postgres 15 onwards (the shape every
 * classifier here reads) names each field after its type. Booleans were casts of 't'/'f'
 * to pg_catalog.bool then; they become A_Const booleans so checks read them the same.
 */
export function adaptLegacyTree(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(adaptLegacyTree);
  if (node === null || typeof node !== 'object') return node;
  const out: ParseNode = {};
  for (const [key, value] of Object.entries(node as ParseNode)) {
    const bool = key === 'TypeCast' ? booleanCast(value) : null;
    if (bool) out['A_Const'] = bool;
    else out[key] = key === 'A_Const' ? adaptConst(value as ParseNode) : adaptValue(key, value);
  }
  return out;
}

const VALUE_FIELD: Record<string, string> = { String: 'sval', Float: 'fval', BitString: 'bsval' };

function adaptValue(key: string, value: unknown): unknown {
  const field = VALUE_FIELD[key];
  if (field && value !== null && typeof value === 'object' && 'str' in value)
    return { [field]: (value as { str: string }).str };
  return adaptLegacyTree(value);
}

function adaptConst(c: ParseNode): ParseNode {
  const { val, ...rest } = c as { val?: ParseNode };
  if (!val) return adaptLegacyTree(c) as ParseNode;
  const [kind, inner] = (Object.entries(val)[0] ?? ['', {}]) as [string, { str?: string; ival?: number }];
  const out: ParseNode = { ...rest };
  switch (kind) {
    case 'Integer':
      out['ival'] = inner.ival === undefined || inner.ival === 0 ? {} : { ival: inner.ival };
      break;
    case 'String':
      out['sval'] = { sval: inner.str ?? '' };
      break;
    case 'Float':
      out['fval'] = { fval: inner.str ?? '' };
      break;
    case 'BitString':
      out['bsval'] = { bsval: inner.str ?? '' };
      break;
    case 'Null':
      out['isnull'] = true;
      break;
  }
  return out;
}

/** `'t'::pg_catalog.bool` (how 13 and 14 spell TRUE) as the boolean constant 15+ writes, or null. */
function booleanCast(value: unknown): ParseNode | null {
  const cast = value as {
    arg?: { A_Const?: { val?: { String?: { str?: string } }; location?: number } };
    typeName?: { names?: Array<{ String?: { str?: string } }> };
  };
  const names = (cast.typeName?.names ?? []).map((n) => n.String?.str);
  const str = cast.arg?.A_Const?.val?.String?.str;
  if (names.length !== 2 || names[0] !== 'pg_catalog' || names[1] !== 'bool' || (str !== 't' && str !== 'f'))
    return null;
  // Protobuf leaves false out: {boolval: {}} is false, as 15+ writes it.
  return { boolval: str === 't' ? { boolval: true } : {}, location: cast.arg?.A_Const?.location };
}
