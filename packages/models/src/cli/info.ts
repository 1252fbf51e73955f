import type { Command } from 'commander';
import { countFlops, countParams, createFlow, formatShape, traceFlow, type Flow } from '@bijective/core';
import { getPreset } from '../presets/registry.js';
import { CliError, openCheckpoint } from './common.js';

/** One line per layer: index, type, the spec fields that matter, in → out shape. */
export function describeLayers(flow: Flow): string[] {
  return flow.layers.map((l, i) => {
    const { type, ...rest } = l.spec;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
      .join(' ');
    const params = Object.keys(flow.paramDecls)
      .filter((n) => n.startsWith(`${l.prefix}.`) && flow.paramDecls[n]!.trainable !== false)
      .reduce((s, n) => s + flow.params[n]!.data.length, 0);
    return `${String(i).padStart(3)}  ${type.padEnd(16)} ${formatShape(l.inShape)} → ${formatShape(l.outShape)}  params ${params}${fields ? `  ${fields}` : ''}`;
  });
}

export interface FlowInfo {
  name: string | undefined;
  event: number[];
  layers: number;
  parameters: number;
  /** Every parameter, including fixed ones (LU permutations, flags). */
  parametersAll: number;
  flopsPerExample: { density: number; sample: number };
  macsPerExample: { density: number; sample: number };
}

export function flowInfo(flow: Flow): FlowInfo {
  const density = countFlops(traceFlow(flow, 'density'));
  const sample = countFlops(traceFlow(flow, 'sample'));
  return {
    name: flow.spec.name,
    event: flow.spec.event,
    layers: flow.layers.length,
    parameters: countParams(flow),
    parametersAll: countParams(flow, false),
    flopsPerExample: { density: density.flops, sample: sample.flops },
    macsPerExample: { density: density.macs, sample: sample.macs },
  };
}

const si = (v: number) => (v >= 1e9 ? `${(v / 1e9).toFixed(2)} G` : v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(1)} k` : `${v} `);

export function registerInfo(program: Command): void {
  program
    .command('info')
    .description('layers, parameter count and flops per example of a checkpoint or a preset')
    .option('--checkpoint <dir>', 'a checkpoint folder (flow.json + weights.safetensors)')
    .option('--preset <name>', 'a named preset (see `bijective presets`)')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { checkpoint?: string; preset?: string; json?: boolean }) => {
      if ((opts.checkpoint === undefined) === (opts.preset === undefined)) throw new CliError('info: pass exactly one of --checkpoint DIR or --preset NAME');
      const { flow, meta } = opts.checkpoint !== undefined ? await openCheckpoint(opts.checkpoint) : { flow: createFlow(getPreset(opts.preset!).spec()), meta: undefined };
      const info = flowInfo(flow);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ ...info, ...(meta ? { meta } : {}) }, null, 2)}\n`);
        return;
      }
      const lines = [
        `flow ${info.name ?? '(unnamed)'}  event ${formatShape(info.event)}  ${info.layers} layers`,
        ...describeLayers(flow),
        `parameters: ${info.parameters.toLocaleString('en-US')} trainable (${info.parametersAll.toLocaleString('en-US')} in all)`,
        `flops per example: density ${si(info.flopsPerExample.density)}FLOP, sample ${si(info.flopsPerExample.sample)}FLOP (2·MACs + elementwise; core countFlops)`,
      ];
      if (meta?.command) lines.push(`trained by: ${meta.command}`);
      const test = (meta as { metrics?: { test?: unknown } } | undefined)?.metrics?.test;
      if (test) lines.push(`test metrics: ${JSON.stringify(test)}`);
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
