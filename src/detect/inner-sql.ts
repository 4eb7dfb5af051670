import { sqlTextArgs } from './function-names.js';
import { plpgsqlOfDo, type BodySql } from './plpgsql-body.js';
import { parseStatements, walk, type ParseNode } from './sql-parser.js';

/**
 * SQL that runs from inside other SQL: DO bodies (their static statements, expressions and
 * the constant strings they EXECUTE) and constant SQL text handed to functions that run it
 * (query_to_xml, dblink_exec, ...). What is found is parsed and checked like top-level SQL;
 * what cannot be read before it runs (a computed string, another language) is named.
 */
export interface InnerSql {
  /** The statements found inside, parsed (nested DO blocks and EXECUTEs expanded). */
  statements: ParseNode[];
  /** Why some SQL that runs cannot be read before it runs (empty: all of it was read). */
  dynamic: string[];
  /** A DO body commits or rolls back, so its later statements run in a new transaction. */
  transactionControl: boolean;
}

/** How deep DO-in-EXECUTE-in-DO is followed; deeper text counts as unreadable. */
const MAX_DEPTH = 4;

function funcName(node: ParseNode): string {
  const parts = (node as { funcname?: Array<{ String?: { sval?: string } }> }).funcname ?? [];
  return (parts[parts.length - 1]?.String?.sval ?? '').toLowerCase();
}

/** A string constant, or a || of them (with casts to text): what it spells, else null. */
export function constantText(node: unknown): string | null {
  const n = node as Record<string, Record<string, unknown> | undefined> | null;
  if (!n) return null;
  const c = n['A_Const'];
  if (c) return 'sval' in c ? String((c['sval'] as { sval?: string }).sval ?? '') : null;
  const cast = n['TypeCast'];
  if (cast) return constantText(cast['arg']);
  const op = n['A_Expr'] as {
    kind?: string;
    name?: Array<{ String?: { sval?: string } }>;
    lexpr?: unknown;
    rexpr?: unknown;
  };
  if (op?.kind === 'AEXPR_OP' && op.name?.length === 1 && op.name[0]?.String?.sval === '||') {
    const l = constantText(op.lexpr);
    const r = l === null ? null : constantText(op.rexpr);
    return l === null || r === null ? null : l + r;
  }
  return null;
}

/** `target := expr` (or `=`): the expression. The target is a name path with subscripts. */
const ASSIGN_TARGET =
  /^\s*(?:"(?:[^"]|"")*"|[^\s:=[."]+)(?:\s*\.\s*(?:"(?:[^"]|"")*"|[^\s:=[."]+))*\s*(?:\[[^\]]*\]\s*)*(?::=|=)/;

/** The SELECT PL/pgSQL runs for an expression, or null when it does not parse. */
function expressionTree(text: string, major: number | undefined): { select: ParseNode; value: unknown } | null {
  const stmts = parseStatements(`SELECT ${text}`, major);
  if (stmts?.length !== 1) return null;
  const select = stmts[0]!;
  const target = (select['SelectStmt'] as { targetList?: Array<{ ResTarget?: { val?: unknown } }> } | undefined)
    ?.targetList;
  return { select, value: target?.length === 1 ? target[0]?.ResTarget?.val : undefined };
}

class Finder {
  readonly out: InnerSql = { statements: [], dynamic: [], transactionControl: false };

  constructor(private readonly major: number | undefined) {}

  /** Parses SQL text that will run and adds it (and what runs inside it) to the findings. */
  sqlText(text: string, where: string, depth: number): void {
    const stmts = parseStatements(text, this.major);
    if (stmts === null) {
      this.out.dynamic.push(`${where} text that does not parse`);
      return;
    }
    this.out.statements.push(...stmts);
    this.scan(stmts, depth + 1);
  }

  scan(stmts: ParseNode[], depth: number): void {
    walk(stmts, (kind, node) => {
      if (kind === 'DoStmt') this.doBlock(node, depth);
      else if (kind === 'FuncCall') this.call(node, depth);
    });
  }

  private call(node: ParseNode, depth: number): void {
    const name = funcName(node);
    const args = (node as { args?: unknown[] }).args ?? [];
    for (const i of sqlTextArgs(name, args.length)) {
      const text = constantText(args[i]);
      if (text === null) this.out.dynamic.push(`${name}() of a computed string`);
      else if (depth >= MAX_DEPTH) this.out.dynamic.push(`${name}() nested too deep`);
      else this.sqlText(text, `${name}()`, depth);
    }
  }

  private doBlock(node: ParseNode, depth: number): void {
    if (depth >= MAX_DEPTH) {
      this.out.dynamic.push('a DO block nested too deep');
      return;
    }
    const body = plpgsqlOfDo(node);
    if (body === null) {
      this.out.dynamic.push('a DO block whose body does not parse');
      return;
    }
    if ('language' in body) {
      this.out.dynamic.push(`a DO block in language ${body.language}`);
      return;
    }
    if (body.transactionControl) this.out.transactionControl = true;
    for (const piece of body.sql) this.piece(piece, depth);
  }

  private piece(piece: BodySql, depth: number): void {
    if (piece.kind === 'statement') {
      this.sqlText(piece.text, 'a DO block statement with', depth);
      return;
    }
    let text = piece.text;
    if (piece.kind === 'assignment') {
      const target = ASSIGN_TARGET.exec(text);
      if (!target) {
        this.out.dynamic.push('a DO block assignment pgward cannot read');
        return;
      }
      text = text.slice(target[0].length);
    }
    const expr = expressionTree(text, this.major);
    if (!expr) {
      this.out.dynamic.push('a DO block expression that does not parse');
      return;
    }
    // The expression itself is evaluated (it may call functions) ...
    this.out.statements.push(expr.select);
    this.scan([expr.select], depth + 1);
    if (piece.kind !== 'executed') return;
    // ... and for EXECUTE its value is SQL text that runs.
    const executed = constantText(expr.value);
    if (executed === null) this.out.dynamic.push('EXECUTE of a computed string');
    else this.sqlText(executed, 'EXECUTE of', depth);
  }
}

/** The SQL that the given statements run from inside (see InnerSql). */
export function innerSql(stmts: ParseNode[], major?: number): InnerSql {
  const f = new Finder(major);
  f.scan(stmts, 0);
  return f.out;
}
