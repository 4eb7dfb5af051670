import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isMap, isNode, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { ZodError } from 'zod';
import { didYouMean } from '../util/did-you-mean.js';
import { checkPolicyMeaning, type PolicyContext } from './meaning-check.js';
import { keysAt } from './schema-keys.js';
import { policyDocumentSchema, type PolicySet, type SourcedRule } from './schema.js';

/** One problem in a policy file, with where it is. */
export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  message: string;
  /** A warning is shown and lets the policy through; anything else rejects it. */
  severity?: 'warning';
}

export type PolicyLoad =
  | { ok: true; set: PolicySet; documents: Record<string, string>; warnings: PolicyProblem[] }
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

/** Where a key itself is written (for an unknown key: its value may be on another line). */
function keyPosition(
  doc: Document,
  counter: LineCounter,
  mapPath: ReadonlyArray<PropertyKey>,
  key: string,
): { line: number; column: number } {
  const map = mapPath.length ? doc.getIn(mapPath as unknown[], true) : doc.contents;
  if (isMap(map)) {
    const pair = map.items.find((i) => isScalar(i.key) && String(i.key.value) === key);
    if (pair && isNode(pair.key) && pair.key.range) {
      const { line, col } = counter.linePos(pair.key.range[0]);
      return { line, column: col };
    }
  }
  return position(doc, counter, [...mapPath, key]);
}

function zodProblems(file: string, doc: Document, counter: LineCounter, err: ZodError): PolicyProblem[] {
  return err.issues.flatMap((issue): PolicyProblem[] => {
    const path = issue.path.length ? `${issue.path.join('.')}: ` : '';
    if (issue.code === 'unrecognized_keys') {
      // One problem per key, at the key, with the nearest key the language has there.
      const known = keysAt(policyDocumentSchema, issue.path);
      return issue.keys.map((key) => ({
        file,
        ...keyPosition(doc, counter, issue.path, key),
        message: `${path}unknown key "${key}"${didYouMean(key, known)}`,
      }));
    }
    if (issue.code === 'invalid_union' && issue.path.at(-1) === 'effect') {
      // A rule without a valid effect: say what is missing, and which key was probably meant.
      const rulePath = issue.path.slice(0, -1);
      const rule = doc.getIn(rulePath as unknown[]);
      const value = isMap(rule) ? rule.get('effect') : undefined;
      if (value === undefined) {
        const keys = isMap(rule) ? rule.items.map((i) => String(isScalar(i.key) ? i.key.value : i.key)) : [];
        const meant = keys.find((k) => didYouMean(k, ['effect']) !== '');
        return [
          meant
            ? {
                file,
                ...keyPosition(doc, counter, rulePath, meant),
                message: `${rulePath.join('.')}: unknown key "${meant}" (did you mean "effect"?)`,
              }
            : {
                file,
                ...position(doc, counter, rulePath),
                message: `${rulePath.join('.')}: every rule needs effect: allow or effect: deny`,
              },
        ];
      }
      return [
        {
          file,
          ...position(doc, counter, issue.path),
          message: `${path}effect must be allow or deny, not "${String(value)}"${didYouMean(String(value), ['allow', 'deny'])}`,
        },
      ];
    }
    return [{ file, ...position(doc, counter, issue.path), message: `${path}${issue.message}` }];
  });
}

/**
 * Parses and validates a whole set of policy documents. Any problem rejects the whole set:
 * a half-applied policy is worse than the last good one. With a context, names are checked
 * for meaning too (targets, groups, roles: src/policy/meaning-check.ts); detector profiles
 * always are.
 */
export function parsePolicyDocuments(
  documents: Record<string, string>,
  version: number | null = null,
  context: PolicyContext | null = null,
): PolicyLoad {
  const problems: PolicyProblem[] = [];
  const parsedFiles = new Map<string, { doc: Document; counter: LineCounter }>();
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
    parsedFiles.set(file, { doc, counter });
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
  const set: PolicySet = { rules, profiles, version };
  const warnings: PolicyProblem[] = [];
  for (const f of checkPolicyMeaning(set, context)) {
    const { doc, counter } = parsedFiles.get(f.file)!;
    const problem: PolicyProblem = {
      file: f.file,
      ...position(doc, counter, ['rules', f.ruleIndex, ...f.path]),
      message: `rules.${f.ruleIndex}.${f.message}`,
    };
    if (f.severity === 'warning') warnings.push({ ...problem, severity: 'warning' });
    else problems.push(problem);
  }
  if (problems.length) return { ok: false, problems, documents };
  return { ok: true, set, documents, warnings };
}

export async function loadPolicyDir(dir: string): Promise<PolicyLoad> {
  return parsePolicyDocuments(await readPolicyDir(dir));
}

export const formatProblem = (p: PolicyProblem): string =>
  `${p.file}:${p.line}:${p.column}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`;
