/**
 * @bijective/bench: the cross-engine benchmark (`npm run bench`). The CLI is `src/main.ts`;
 * these exports let scripts and tests reuse its statistics, timing loop and report writer.
 */
export * from './results.js';
export * from './stats.js';
export * from './timing.js';
export * from './inputs.js';
export * from './check.js';
export { makePlan, selectEngines, QUICK_PRESETS, QUICK_BATCHES, FULL_PRESETS, FULL_BATCHES, type BenchPlan, type CliOptions } from './plan.js';
export { writeReport, serializeResults } from './report/write.js';
export { buildCharts, renderSvg, type Chart } from './report/charts.js';
export { renderMarkdown } from './report/markdown.js';
export { renderHtml } from './report/html.js';
export { winners, overheads, mafVsIaf, deriveMetrics } from './report/analysis.js';
export { validateResults } from './validate.js';
