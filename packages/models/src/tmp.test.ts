import { expect, test } from 'vitest';
test('tmp', () => { expect(1 + 1).toBe(2); });
