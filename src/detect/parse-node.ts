/** A node of a libpg-query parse tree: `{ NodeType: { ...fields } }`. */
export type ParseNode = Record<string, unknown>;
