/**
 * Re-renders bench/out/report.md from bench/out/report.json (targets and findings
 * re-evaluated with the current bench code), without running anything:
 *
 *   npx tsx bench/render.ts
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from '../dev/cluster/config.js';
import { findingsFor } from './findings.js';
import { writeReport } from './report.js';
import type { RunResult } from './results.js';
import { evaluateTargets } from './targets.js';

const dir = join(repoRoot, 'bench', 'out');
const run = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8')) as RunResult;
run.targets = evaluateTargets(run.scales, run.deploys, run.realDeploys, run.exec, run.memoryAtStart);
const files = await writeReport(dir, run, findingsFor(run));
console.log(`wrote ${files.md} and ${files.json}`);
