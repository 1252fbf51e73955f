import type { Availability } from '../engines.js';
import { gemmFlops } from '../gemm.js';
import type { BenchPlan } from '../plan.js';
import type { GemmPeak } from '../results.js';
import { runWorker } from './pool.js';

/** The backends' engine lists, asked in a worker (loading every runtime, and native probes' stderr noise, stay out of this process). */
export async function listEnginesInWorker(timeoutMs: number): Promise<Availability[]> {
  let engines: Availability[] | undefined;
  await runWorker({ type: 'list' }, (r) => void (r.type === 'list' && (engines = r.engines)), AbortSignal.timeout(timeoutMs));
  if (!engines) throw new Error('the engine-listing worker sent no list');
  return engines;
}

export async function measureGemm(plan: BenchPlan): Promise<GemmPeak> {
  let result: GemmPeak | undefined;
  let failure: string | undefined;
  await runWorker(
    { type: 'gemm', engine: 'ort-node-cpu', m: plan.gemm.m, k: plan.gemm.k, timing: plan.gemm.timing },
    (r) => {
      if (r.type !== 'gemm') return;
      if (r.error !== undefined || !r.timing) failure = r.error ?? 'no timing';
      else {
        const t = r.timing;
        result = {
          engine: 'ort-node-cpu',
          m: plan.gemm.m,
          k: plan.gemm.k,
          n: plan.gemm.k,
          medianMs: t.medianMs,
          p10Ms: t.p10Ms,
          p90Ms: t.p90Ms,
          bestMs: t.minMs,
          // A peak is what the machine can reach: the fastest sample, not the median (other
          // work on the machine only ever slows a sample down).
          gflops: gemmFlops(plan.gemm.m, plan.gemm.k) / (t.minMs / 1000) / 1e9,
          medianGflops: gemmFlops(plan.gemm.m, plan.gemm.k) / (t.medianMs / 1000) / 1e9,
          samples: t.samples,
        };
      }
    },
    AbortSignal.timeout(plan.probeTimeoutMs),
  );
  if (!result) throw new Error(failure ?? 'the GEMM worker sent no result');
  return result;
}
