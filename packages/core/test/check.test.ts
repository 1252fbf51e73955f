import { describe, expect, it } from 'vitest';
import { InputError } from '../src/index.js';
import { checkInput, sampleNoise } from '../src/runtime/check.js';

describe('runtime input checks', () => {
  it("refuses values beyond float32's range, which float32 engines would turn into ±Infinity", () => {
    const ok = Float64Array.of(3.4e38, -3.4e38, 0, 1);
    expect(checkInput('logProb: x', { data: ok, shape: [2, 2] }, [2])).toBe(2);
    const big = Float64Array.of(0, 1, -3.5e38, 2);
    expect(() => checkInput('logProb: x', { data: big, shape: [2, 2] }, [2])).toThrow(InputError);
    expect(() => checkInput('logProb: x', { data: big, shape: [2, 2] }, [2])).toThrow(/logProb: x: value at \[1, 0\] is -3\.5e\+38, beyond float32's range/);
  });

  it('refuses a temperature that scales the noise beyond float32, and missing options', () => {
    expect(sampleNoise({ n: 2, temperature: 1e30 }, [3]).data.every((v) => Math.abs(v) < 3.4e38)).toBe(true);
    expect(() => sampleNoise({ n: 2, temperature: 1e308 }, [3])).toThrow(/sample: temperature 1e\+308 scales the base noise beyond float32's range/);
    expect(() => sampleNoise(undefined as never, [3])).toThrow(/sample: expected options \{ n, temperature\?, seed\? \}, got undefined/);
  });
});
