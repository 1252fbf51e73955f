import type { Availability } from '../engines.js';
import { gemmFlops } from '../gemm.js';
import type { BenchPlan } from '../plan.js';
import type { BenchResults } from '../results.js';
import { runWorker } from './pool.js';

/**
 * The backends' engine lists and the roofline's GEMM peak, from one worker (loading every
 * runtime, and native probes' stderr noise, stay out of this process).
 */
export async function probeNode(plan: BenchPlan): Promise<{ engines: Availability[]; gemm: BenchResults['gemm'] }> {
  let engines: Availability[] | undefined;
  let gemm: BenchResults['gemm'] | undefined;
  const { m, k } = plan.gemm;
  await runWorker(
    { type: 'list', gemm: plan.gemm },
    (r) => {
      if (r.type === 'list') engines = r.engines;
      if (r.type !== 'gemm') return;
      if (r.error !== undefined || !r.timing) gemm = { skipped: `the GEMM probe failed: ${r.error ?? 'no timing'}` };
      else {
        const t = r.timing;
        gemm = {
          engine: 'ort-node-cpu',
          m,
          k,
          n: k,
          medianMs: t.medianMs,
          p10Ms: t.p10Ms,
          p90Ms: t.p90Ms,
          bestMs: t.minMs,
          // A peak is what the machine can reach: the fastest sample, not the median (other
          // work on the machine only ever slows a sample down).
          gflops: gemmFlops(m, k) / (t.minMs / 1000) / 1e9,
          medianGflops: gemmFlops(m, k) / (t.medianMs / 1000) / 1e9,
          samples: t.samples,
        };
      }
    },
    AbortSignal.timeout(plan.probeTimeoutMs),
  );
  if (!engines) throw new Error('the engine-listing worker sent no list');
  const cpu = engines.find((e) => e.engine === 'ort-node-cpu');
  return { engines, gemm: gemm ?? { skipped: cpu && !cpu.available ? `ort-node-cpu is not available: ${cpu.reason}` : 'ort-node-cpu is not listed' } };
}
