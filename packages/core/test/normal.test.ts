import { describe, expect, it } from 'vitest';
import { GraphBuilder, erf, logNdtr, ndtriFromLogs, runGraph, type Value } from '../src/index.js';

/** Runs `f` on a float64 vector through the reference interpreter. */
function evalVector(xs: readonly number[], f: (g: GraphBuilder, x: Value) => Value, inputs = 1): Float64Array {
  const g = new GraphBuilder();
  const ins = Array.from({ length: inputs }, (_, i) => g.input(`x${i}`, ['N']));
  g.output('y', f(g, ins[0]!));
  const data = Float64Array.from(xs);
  return runGraph(g.build(), { params: {}, inputs: { x0: { data, shape: [xs.length] } }, batch: xs.length }).y!.data as Float64Array;
}

// Truth values from mpmath at 50 digits (log Φ via log ncdf; Φ⁻¹ by findroot on log Φ).
const LOG_NDTR: [number, number][] = [
  [-1e4, -50000010.12927891], [-300, -45006.62273211866], [-40, -804.6084420137538], [-10, -53.23128515051247],
  [-8, -35.01343715991455], [-5.5, -17.77937635262526], [-3, -6.607726221510349], [-1.5, -2.7059444008238898],
  [-1.4142, -2.54272738275092], [-1, -1.8410216450092636], [-0.3, -0.9621028181688507], [0, -0.6931471805599453],
  [0.7, -0.2770239422771313], [2, -0.02301290932896349], [4.9, -4.79183391398662e-07], [5.1, -1.698267551353227e-07],
  [8, -6.220960574271786e-16], [10, -7.619853024160525e-24], [30, -4.906713927148187e-198],
];
const NDTRI_OF_LOG: [number, number][] = [
  [-1e4, -141.37983987312717], [-2000, -63.16541860878361], [-300, -24.32643890656559], [-100, -13.888476033003887],
  [-79, -12.29353304580648], [-69.07755278982137, -11.464024688443615], [-30, -7.35766681500875], [-10, -3.913946240531893],
  [-3, -1.6469217205277147], [-1, -0.33747496376420244], [-0.7, -0.008559478582480282],
];

describe('erf (reference kernel)', () => {
  it('matches mpmath to 2e-16 relative on |x| < 1 and 1e-16 absolute beyond', () => {
    // erf at 0.1, 0.5, 0.99, 1, 1.5, 3, 5 (Python's math.erf, correctly rounded there).
    const truth: [number, number][] = [[0.1, 0.1124629160182849], [0.5, 0.5204998778130465], [0.99, 0.8385080695553698], [1, 0.8427007929497149], [1.5, 0.9661051464753108], [3, 0.9999779095030014], [5, 0.9999999999984626]];
    for (const [x, e] of truth) {
      expect(Math.abs(erf(x) - e)).toBeLessThan(2.5e-16);
      expect(erf(-x)).toBe(-erf(x));
    }
    expect(Math.abs(erf(1e-8) - 1.1283791670955126e-8) / 1.1283791670955126e-8).toBeLessThan(1e-15);
    expect(erf(30)).toBe(1);
    expect(Number.isNaN(erf(NaN))).toBe(true);
  });
});

describe('logNdtr: log Φ in float64, both tails', () => {
  it('agrees with mpmath to 1e-14 relative (absolute 1e-16 where log Φ ≈ 0), at ±10 and beyond', () => {
    const got = evalVector(LOG_NDTR.map(([y]) => y), logNdtr);
    LOG_NDTR.forEach(([y, e], i) => {
      const err = Math.abs(got[i]! - e);
      expect(err, `log Φ(${y}) = ${got[i]}, expected ${e}`).toBeLessThan(Math.max(1e-14 * Math.abs(e), 1e-16));
      // The upper tail keeps relative precision too: log Φ(10) is −7.6e-24, not 0.
      if (y > 5) expect(err / Math.abs(e)).toBeLessThan(1e-12);
    });
  });
});

describe('ndtriFromLogs: Φ⁻¹ from log u and log(1 − u)', () => {
  it('solves log Φ(y) = log u to 1e-13 relative from u = e^-10000 to ½, and by symmetry the upper tail', () => {
    const lower = evalVector([0], (g) => {
      const logU = g.constant(NDTRI_OF_LOG.map(([l]) => l));
      const log1mU = g.constant(NDTRI_OF_LOG.map(([l]) => Math.log1p(-Math.exp(l))));
      return g.concat([ndtriFromLogs(g, logU, log1mU), ndtriFromLogs(g, log1mU, logU)], 0);
    });
    const k = NDTRI_OF_LOG.length;
    NDTRI_OF_LOG.forEach(([l, e], i) => {
      expect(Math.abs(lower[i]! - e), `Φ⁻¹(e^${l}) = ${lower[i]}, expected ${e}`).toBeLessThan(1e-13 * Math.abs(e) + 1e-15);
      expect(Math.abs(lower[k + i]! + e)).toBeLessThan(1e-13 * Math.abs(e) + 1e-15);
    });
  });

  it('Φ⁻¹(1e-30) = −11.464024688443615 and Φ⁻¹(1 − 1e-30) = +11.464024688443615', () => {
    const [a, b] = evalVector([0], (g) => {
      const lu = g.constant([Math.log(1e-30), Math.log1p(-1e-30)]);
      const l1 = g.constant([Math.log1p(-1e-30), Math.log(1e-30)]);
      return ndtriFromLogs(g, lu, l1);
    });
    expect(Math.abs(a! + 11.464024688443615)).toBeLessThan(1e-13);
    expect(Math.abs(b! - 11.464024688443615)).toBeLessThan(1e-13);
  });

  it('inverts logNdtr across the line (round trip 1e-12)', () => {
    const ys = Array.from({ length: 81 }, (_, i) => -40 + i);
    const back = evalVector(ys, (g, y) => ndtriFromLogs(g, logNdtr(g, y), logNdtr(g, g.neg(y))));
    ys.forEach((y, i) => {
      // Beyond |y| ≈ 8.3, 1 − Φ(y) is not a float64 but log Φ(−y) still is: no loss.
      expect(Math.abs(back[i]! - y), `y = ${y}`).toBeLessThan(1e-12 * Math.max(1, Math.abs(y)));
    });
  });
});
