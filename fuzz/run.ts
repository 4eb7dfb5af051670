/**
 * Coverage-guided fuzzing of the targets in fuzz/targets with V8's own block coverage, for
 * machines where Jazzer.js's native fuzzer cannot load. See README.md, "Fuzzing".
 *
 *   node dist/fuzz/run.js <target|path.js> [--seconds N] [--runs N] [--seed N] [--save]
 *        [--max-len N] [--timeout MS] [--corpus DIR] [--crashes DIR] [--blind] [--replay FILE|DIR]
 *   node dist/fuzz/run.js --all [options]    every target, one process each
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { BlockCoverage } from './coverage.js';
import { Mutator, Rng } from './mutate.js';

interface Target {
  fuzz: (data: Buffer) => unknown;
  dictionary?: readonly string[];
}

const self = fileURLToPath(import.meta.url);
const here = dirname(self);
const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    seed: { type: 'string', default: '1' },
    runs: { type: 'string' },
    seconds: { type: 'string' },
    'max-len': { type: 'string', default: '4096' },
    timeout: { type: 'string', default: '1000' },
    corpus: { type: 'string', default: 'fuzz/corpus' },
    crashes: { type: 'string', default: 'fuzz/crashes' },
    save: { type: 'boolean', default: false },
    blind: { type: 'boolean', default: false },
    replay: { type: 'string' },
    all: { type: 'boolean', default: false },
  },
});

const number = (name: string, text: string | undefined): number => {
  const n = text === undefined ? Infinity : Number(text);
  if (Number.isNaN(n) || n < 0) fail(`--${name} wants a non-negative number, not "${text}"`);
  return n;
};

function fail(message: string): never {
  console.error(`fuzz: ${message}`);
  process.exit(2);
}

const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');
const describe = (err: unknown): string =>
  err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `thrown non-Error: ${String(err)}`;

if (opts.all) await runAll();
else await fuzzOne();

/** Each target in its own process: no shared module state, heap or coverage. */
async function runAll(): Promise<void> {
  // Loaded only here: every module in the fuzzing process adds to the cost of a coverage take.
  const { spawnSync } = await import('node:child_process');
  const names = readdirSync(join(here, 'targets'))
    .filter((f) => f.endsWith('.js'))
    .map((f) => basename(f, '.js'))
    .sort();
  const rest = process.argv.slice(2).filter((a) => a !== '--all');
  const failed: string[] = [];
  for (const name of names) {
    console.error(`\n== ${name}`);
    const run = spawnSync(process.execPath, [self, name, ...rest], { stdio: 'inherit' });
    if (run.status !== 0) failed.push(name);
  }
  if (failed.length > 0) console.error(`\nfuzz: failed: ${failed.join(', ')}`);
  process.exit(failed.length > 0 ? 1 : 0);
}

async function fuzzOne(): Promise<void> {
  const spec =
    positionals[0] ?? fail('name a target (a file in fuzz/targets) or a compiled target path, or pass --all');
  const path = spec.endsWith('.js') ? resolve(spec) : join(here, 'targets', `${spec}.js`);
  if (!existsSync(path)) fail(`no target ${path}`);
  const name = basename(path, '.js');
  // Started before the target is imported, so its code is compiled with block counters.
  const coverage = new BlockCoverage([pathToFileURL(join(here, '..', 'src')).href + '/', pathToFileURL(path).href]);
  const target = (await import(pathToFileURL(path).href)) as Target;
  if (typeof target.fuzz !== 'function') fail(`${path} exports no fuzz(data) function`);
  coverage.collect(); // module initialisation is nobody's input

  const started = performance.now();
  let execs = 0;
  let tried = 0;
  const timeout = number('timeout', opts.timeout);
  const exec = (data: Buffer): unknown => {
    execs++;
    const t0 = performance.now();
    try {
      if (target.fuzz(data) instanceof Promise) return new Error('fuzz targets must be synchronous');
    } catch (err) {
      return err ?? new Error('thrown undefined');
    }
    // A synchronous target cannot be interrupted; a slow input is reported once it returns.
    const ms = performance.now() - t0;
    return ms > timeout ? new Error(`input ran ${Math.round(ms)} ms, over --timeout ${timeout} ms`) : undefined;
  };

  if (opts.replay) {
    const at = resolve(opts.replay);
    const files = statSync(at).isDirectory()
      ? readdirSync(at)
          .sort()
          .map((f) => join(at, f))
      : [at];
    for (const file of files) {
      const err = exec(readFileSync(file));
      if (err !== undefined) {
        console.error(`crash in ${name} replaying ${file}:\n${describe(err)}`);
        process.exit(1);
      }
    }
    console.error(`${name}: ${files.length} inputs replayed, no crash`);
    return;
  }

  const corpusDir = resolve(opts.corpus, name);
  const corpus: Buffer[] = existsSync(corpusDir)
    ? readdirSync(corpusDir)
        .sort()
        .map((f) => readFileSync(join(corpusDir, f)))
    : [];
  if (corpus.length === 0) corpus.push(Buffer.alloc(0));
  let corpusStart = corpus.length;
  let featuresStart = 0;
  const summary = (crash: string | null): string =>
    JSON.stringify({
      target: name,
      seed: Number(opts.seed),
      execs,
      tried,
      seconds: Math.round(performance.now() - started) / 1000,
      corpusStart,
      corpusEnd: corpus.length,
      featuresStart,
      featuresEnd: coverage.features,
      crash,
    });
  const crashed = (err: unknown, data: Buffer): never => {
    const dir = resolve(opts.crashes);
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}-${sha1(data)}.bin`);
    writeFileSync(file, data);
    const preview = data.subarray(0, 64).toString('hex') + (data.length > 64 ? '…' : '');
    console.error(
      `\n== crash in ${name} after ${execs} execs\n${describe(err)}\ninput (${data.length} bytes): ${preview}`,
    );
    console.error(
      `saved: ${file}\nreplay: node ${relative(process.cwd(), self)} ${spec} --replay ${relative(process.cwd(), file)}`,
    );
    console.log(summary(file));
    process.exit(1);
  };

  for (const seed of corpus) {
    const err = exec(seed);
    if (err !== undefined) crashed(err, seed);
    coverage.collect();
  }
  corpusStart = corpus.length;
  featuresStart = coverage.features;
  const maxRuns = number('runs', opts.runs);
  const deadline = started + number('seconds', opts.seconds) * 1000;
  const rng = new Rng(number('seed', opts.seed));
  const mutator = new Mutator(rng, number('max-len', opts['max-len']), target.dictionary ?? []);
  let stop = false;
  process.once('SIGINT', () => (stop = true));
  let report = started;
  const progress = (): void => {
    const secs = (performance.now() - started) / 1000;
    console.error(
      `${name} #${execs} cov: ${coverage.features} corp: ${corpus.length} exec/s: ${Math.round(execs / secs)} ${secs.toFixed(1)}s`,
    );
  };
  const keep = (child: Buffer): void => {
    if (opts.blind) return;
    corpus.push(child);
    if (!opts.save) return;
    mkdirSync(corpusDir, { recursive: true });
    writeFileSync(join(corpusDir, `${sha1(child)}.bin`), child);
  };
  const tryOne = (child: Buffer): void => {
    const err = exec(child);
    if (err !== undefined) crashed(err, child);
  };
  progress();

  // A coverage take costs ~0.5 ms (V8 walks every function of every script) against ~20 µs
  // for an input, so most rounds run a batch under one take and replay it input by input
  // only when some block ran for the first time. Every SINGLES-th round takes coverage
  // per input, so changes in hit counts alone (a loop running longer) are seen too.
  const BATCH = 16;
  const SINGLES = 8;
  for (let round = 0; tried < maxRuns && !stop; round++) {
    const now = performance.now();
    if (now >= deadline) break;
    if (now - report >= 1000) {
      report = now;
      progress();
      await new Promise(setImmediate); // lets SIGINT in
    }
    const batch: Buffer[] = [];
    for (let i = 0; i < BATCH && tried < maxRuns; i++, tried++) {
      const child = mutator.mutate(rng.pick(corpus), corpus);
      tryOne(child);
      if (round % SINGLES !== 0) batch.push(child);
      else if (coverage.collect() > 0) keep(child);
    }
    if (batch.length === 0 || coverage.collect('batch') === 0) continue;
    for (const child of batch) {
      tryOne(child);
      if (coverage.collect() > 0) keep(child);
    }
  }
  progress();
  console.log(summary(null));
}
