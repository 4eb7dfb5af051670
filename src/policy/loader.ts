import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { policyDocumentSchema, type PolicySet, type SourcedRule } from './schema.js';

/** One problem in a policy file, with where it is. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type PolicyLoad =
  | { ok: true; set: PolicySet; documents: Record<string, string> }
  | { ok: false; problems: PolicyProblem[]; documents: Record<string, string> };

export const isPolicyFile = (name: string): boolean => /\.ya?ml$/i.test(name) && !name.startsWith('.');

/** Reads every *.yaml / *.yml in dir (not recursive), in name order. */
export async function readPolicyDir(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).filter(isPolicyFile).sort();
  const docs: Record<string, string> = {};
  for (const n of names) docs[n] = await readFile(join(dir, n), 'utf8');
  return docs;
}

function position(
  doc: Document,
  counter: LineCounter,
  path: ReadonlyArray<PropertyKey>,
): { line: number; column: number } {
  // The deepest node of the path that exists: a missing key is reported at its parent.
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (isNode(node) && node.range) {
      const { line, col } = counter.linePos(node.range[0]);
      return { line, column: col };
    }
  }
  return { line: 1, column: 1 };
}

function zodProblems(file: string, doc: Document, counter: LineCounter, err: ZodError): PolicyProblem[] {
  return err.issues.map((issue) => {
    const where = position(doc, counter, issue.path);
    const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
    return { file, ...where, message: `${path}${issue.message}` };
  });
}

/**
 * Parses and validates a whole set of policy documents. Any problem rejects the whole set:
 * a half-applied policy is worse than the last good one.
 */
export function parsePolicyDocuments(documents: Record<string, string>, version: number | null = null): PolicyLoad {
  const problems: PolicyProblem[] = [];
  const rules: SourcedRule[] = [];
  const names = new Map<string, string>();
  const profiles: PolicySet['profiles'] = {};
  const profileFiles = new Map<string, string>();
  for (const file of Object.keys(documents).sort()) {
    const counter = new LineCounter();
    const doc = parseDocument(documents[file]!, { lineCounter: counter, prettyErrors: false, uniqueKeys: true });
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const { line, col } = counter.linePos(e.pos[0]);
        problems.push({ file, line, column: col, message: e.message.split('\n')[0]! });
      }
      continue;
    }
    const parsed = policyDocumentSchema.safeParse(doc.toJS() ?? {});
    if (!parsed.success) {
      problems.push(...zodProblems(file, doc, counter, parsed.error));
      continue;
    }
    for (const [name, profile] of Object.entries(parsed.data.profiles)) {
      const seen = profileFiles.get(name);
      if (seen)
        problems.push({
          file,
          ...position(doc, counter, ['profiles', name]),
          message: `profile "${name}" is also defined in ${seen}`,
        });
      profileFiles.set(name, file);
      profiles[name] = profile;
    }
    parsed.data.rules.forEach((rule, index) => {
      const seen = names.get(rule.name);
      if (seen) {
        problems.push({
          file,
          ...position(doc, counter, ['rules', index, 'name']),
          message: `rule name "${rule.name}" is also used in ${seen}`,
        });
      }
      names.set(rule.name, file);
      rules.push({ rule, file, index });
    });
  }
  if (problems.length) return { ok: false, problems, documents };
  return { ok: true, set: { rules, profiles, version }, documents };
}

export async function loadPolicyDir(dir: string): Promise<PolicyLoad> {
  return parsePolicyDocuments(await readPolicyDir(dir));
}

export const formatProblem = (p: PolicyProblem): string => `${p.file}:${p.line}:${p.column}: ${p.message}`;
