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
  [-1e4, -50000010.129278915181], [-300, -45006.62273211866336], [-40, -804.60844201375378817], [-10, -53.231285150512470578],
  [-8, -35.013437159914549896], [-5.5, -17.779376352625260511], [-3, -6.6077262215103495433], [-1.5, -2.705944400823889807],
  [-1.4142, -2.5427273827509199642], [-1, -1.8410216450092635058], [-0.3, -0.96210281816885065666], [0, -0.69314718055994530942],
  [0.7, -0.277023942277131263], [2, -0.023012909328963488465], [4.9, -4.7918339139866194488e-7], [5.1, -1.6982675513532270972e-7],
  [8, -6.2209605742717860585e-16], [10, -7.6198530241605260704e-24], [30, -4.9067139271481870595e-198],
];
const NDTRI_OF_LOG: [number, number][] = [
  [-1e4, -141.3798398731271637], [-2000, -63.165418608783609485], [-300, -24.326438906565587379], [-100, -13.888476033003886317],
  [-79, -12.293533045806480387], [-69.07755278982137, -11.464024688443615522], [-30, -7.3576668150087499278], [-10, -3.9139462405318930773],
  [-3, -1.6469217205277147766], [-1, -0.33747496376420245528], [-0.7, -0.0085594785824802822957],
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
    expect(Math.abs(a! + 11.464024688443615522)).toBeLessThan(1e-13);
    expect(Math.abs(b! - 11.464024688443615522)).toBeLessThan(1e-13);
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
