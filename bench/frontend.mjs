#!/usr/bin/env node
// bench/frontend.mjs - the Dockerfile frontend in-process: parse + plan + expand a generated 10,000-line
// Dockerfile with the compiled library (dist/src/dockerfile), median of 20 after 3 warm-ups; then the
// context walk benchmark another helper wrote (dist/bench/frontend/walk.js: a 100,000-file context,
// cold and warm), WALK_RUNS (5) times, median of its warm totals.
// Prints a markdown report and rewrites the 'frontend' section of bench/RESULTS.md.
// Usage: npm run build && node bench/frontend.mjs     Targets: < 100 ms for the Dockerfile, < 1 s for the warm walk.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const BENCH = dirname(fileURLToPath(import.meta.url));
const REPO = join(BENCH, '..');
const RUNS = Number(process.env.FRONTEND_RUNS ?? 20);
const WARMUP = 3;
const WALK_RUNS = Number(process.env.WALK_RUNS ?? 5);
const lib = (p) => import(pathToFileURL(join(REPO, 'dist/src/dockerfile', p)).href);
const { parseDockerfile } = await lib('parser.js');
const { planBuild, createStageScope } = await lib('plan.js');
const { hostPlatform } = await lib('instructions/platform.js');

/**
 * 20 stages of 500 lines: the instruction mix of real Dockerfiles (RUN with continuations and
 * `&&` chains, ENV/ARG with ${} expansion and modifiers, COPY --from/--chown, LABEL, EXPOSE, a heredoc
 * per stage), each stage built FROM the previous one so the plan has a dependency chain.
 */
function generateDockerfile(lines = 10_000, stages = 20) {
  const out = ['# syntax=docker/dockerfile:1', 'ARG BASE=debian:bookworm-slim', 'ARG VERSION=1.2.3'];
  const per = Math.floor((lines - out.length) / stages);
  for (let s = 0; s < stages; s++) {
    const stage = [];
    stage.push(s === 0 ? `FROM \${BASE} AS stage0` : `FROM stage${s - 1} AS stage${s}`);
    stage.push(
      'ARG VERSION',
      `ENV APP_HOME=/opt/app${s} PATH=/opt/app${s}/bin:$PATH`,
      `WORKDIR \${APP_HOME}`,
    );
    stage.push('RUN <<EOF', 'set -e', `echo stage ${s} > /tmp/stage`, 'EOF');
    let i = 0;
    while (stage.length < per - 1) {
      switch (i % 10) {
        case 0:
          stage.push(
            `RUN apt-get update && \\`,
            `    apt-get install -y --no-install-recommends pkg${i} && \\`,
            '    rm -rf /var/lib/apt/lists/*',
          );
          break;
        case 1:
          stage.push(`ENV VAR_${i}="value ${i} \${APP_HOME:-/none}" OTHER_${i}=\${VERSION}-${i}`);
          break;
        case 2:
          stage.push(`ARG OPT_${i}=\${VERSION%.*}`);
          break;
        case 3:
          stage.push(`COPY --chown=1000:1000 src/${i}/ \${APP_HOME}/src/${i}/`);
          break;
        case 4:
          stage.push(`LABEL org.example.item${i}="\${VAR_${i - 3}}" version="\${VERSION}"`);
          break;
        case 5:
          stage.push(`RUN ["/bin/sh", "-c", "echo ${i} \${OPT_${i - 3}}"]`);
          break;
        case 6:
          stage.push(
            s > 0
              ? `COPY --from=stage${s - 1} /opt/app${s - 1}/out/${i} /opt/in/${i}`
              : `COPY file${i}.txt /opt/in/`,
          );
          break;
        case 7:
          stage.push(`EXPOSE ${8000 + (i % 1000)}/tcp`);
          break;
        case 8:
          stage.push('# a comment line between instructions', `USER \${UID:-1000}:${i % 7}`);
          break;
        default:
          stage.push(
            `RUN --mount=type=cache,target=/root/.cache/${i} echo "\${VAR_${i - 8}}" > /tmp/out${i}`,
          );
      }
      i++;
    }
    stage.push('CMD ["app", "--serve"]');
    out.push(...stage);
  }
  while (out.length < lines) out.push('# padding');
  return `${out.slice(0, lines).join('\n')}\n`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const source = generateDockerfile();
const lineCount = source.split('\n').length - 1;
const load0 = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');

function once() {
  const t0 = performance.now();
  const ast = parseDockerfile(source, { file: 'Dockerfile' });
  const t1 = performance.now();
  const plan = planBuild(ast, {
    buildArgs: { VERSION: '2.0.1' },
    platform: hostPlatform(),
    file: 'Dockerfile',
  });
  const t2 = performance.now();
  let dispatched = 0;
  for (const stage of plan.stages) {
    const scope = createStageScope(plan, [
      'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    ]);
    for (const cmd of stage.instructions) {
      scope.dispatch(cmd);
      dispatched++;
    }
  }
  const t3 = performance.now();
  return {
    parse: t1 - t0,
    plan: t2 - t1,
    expand: t3 - t2,
    total: t3 - t0,
    stages: plan.stages.length,
    dispatched,
  };
}

for (let i = 0; i < WARMUP; i++) once();
const samples = [];
for (let i = 0; i < RUNS; i++) samples.push(once());
const med = (k) => median(samples.map((s) => s[k]));
const first = samples[0];
const fmt = (x) => x.toFixed(1);

// ---- the walk benchmark (another helper's; run as is when compiled) ----
const walkJs = join(REPO, 'dist/bench/frontend/walk.js');
const walk = { present: existsSync(walkJs), outputs: [], warm: [], cold: [] };
if (walk.present) {
  for (let i = 0; i < WALK_RUNS; i++) {
    const r = spawnSync(process.execPath, [walkJs], { encoding: 'utf8', maxBuffer: 16 << 20 });
    if (r.status !== 0) {
      walk.error = `exit ${r.status}: ${(r.stderr || r.stdout).slice(-1000)}`;
      break;
    }
    walk.outputs.push(r.stdout.trim());
    // rows: label | open | walk | hash+save | total | CPU | detail
    for (const line of r.stdout.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      const total = Number.parseFloat(cells[4] ?? '');
      if (cells[0]?.startsWith('warm (no-op rebuild)') && Number.isFinite(total)) walk.warm.push(total);
      if (cells[0]?.startsWith('cold') && Number.isFinite(total)) walk.cold.push(total);
    }
    process.stderr.write(
      `walk run ${i + 1}/${WALK_RUNS}: warm ${walk.warm.at(-1)} ms, cold ${walk.cold.at(-1)} ms\n`,
    );
  }
}

const parseMs = med('parse');
const planMs = med('plan');
const expandMs = med('expand');
const totalMs = med('total');
const rev = spawnSync('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD'], {
  encoding: 'utf8',
}).stdout.trim();
const built = statSync(join(REPO, 'dist/src/dockerfile/parser.js')).mtime.toISOString().slice(11, 16);
const md = [];
md.push('## frontend.mjs: Dockerfile parse + plan + expand (in-process), context walk');
md.push('');
md.push(
  `- date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC; slipway ${rev} (dist/ built ${built} UTC)`,
);
md.push(
  `- machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), node ${process.version}; load average at start: ${load0}`,
);
md.push(`- command: \`node bench/frontend.mjs\` (FRONTEND_RUNS=${RUNS}, WALK_RUNS=${WALK_RUNS})`);
md.push(
  `- input: a generated ${lineCount}-line Dockerfile (${(source.length / 1024).toFixed(0)} KiB), ${first.stages} stages each FROM the previous, ${first.dispatched} instructions (RUN with continuations, heredocs, ENV/ARG with \${} modifiers, COPY --from/--chown, LABEL, EXPOSE, USER, RUN --mount)`,
);
md.push(
  `- measured: \`parseDockerfile\` (dist/src/dockerfile/parser.js), \`planBuild\` (plan.js), then per stage \`createStageScope\` + \`scope.dispatch\` for every instruction; ${WARMUP} warm-ups, median of ${RUNS} (performance.now(), one process)`,
);
md.push('');
md.push('| phase | median ms | min | max |');
md.push('|---|---|---|---|');
for (const k of ['parse', 'plan', 'expand', 'total']) {
  const xs = samples.map((s) => s[k]);
  md.push(
    `| ${k === 'expand' ? 'expand (scope + dispatch)' : k} | ${fmt(med(k))} | ${fmt(Math.min(...xs))} | ${fmt(Math.max(...xs))} |`,
  );
}
md.push('');
md.push(
  `- target < 100 ms for the Dockerfile: ${totalMs < 100 ? 'met' : '**MISSED**'} (${fmt(totalMs)} ms = parse ${fmt(parseMs)} + plan ${fmt(planMs)} + expand ${fmt(expandMs)})`,
);
md.push('');
md.push('### context walk (dist/bench/frontend/walk.js, 100,000 files, 50-pattern .dockerignore)');
md.push('');
if (!walk.present) md.push('- not run: dist/bench/frontend/walk.js is not built (npm run build)');
else if (walk.error) md.push(`- failed: ${walk.error}`);
else {
  const warm = median(walk.warm);
  md.push(
    `- warm (no-op rebuild) total, median of ${walk.warm.length} runs: ${fmt(warm)} ms [${walk.warm.join(', ')}]; cold: median ${fmt(median(walk.cold))} ms [${walk.cold.join(', ')}]`,
  );
  md.push(`- target < 1 s for the 100k-file walk warm: ${warm < 1000 ? 'met' : '**MISSED**'}`);
  md.push('- its own output (last run):');
  md.push('');
  md.push('```');
  md.push(walk.outputs.at(-1));
  md.push('```');
}
const text = md.join('\n');
process.stdout.write(`${text}\n`);
const r = spawnSync(process.execPath, [join(BENCH, 'lib/results.mjs'), 'frontend'], {
  input: text,
  stdio: ['pipe', 'inherit', 'inherit'],
});
process.exit(r.status ?? 1);
