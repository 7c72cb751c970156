/** The web app's number formatting (web/src/common.ts), which its status lines use while it trains and draws. */
import { describe, it, expect } from 'vitest';
import { formatDuration } from '../web/src/common.ts';

describe('formatDuration (web)', () => {
  it('rounds before it splits into units, so no unit reads 60', () => {
    expect(formatDuration(0.84)).toBe('0.8 s');
    expect(formatDuration(9.96)).toBe('10 s');
    expect(formatDuration(42.4)).toBe('42 s');
    expect(formatDuration(59.6)).toBe('1 min 0 s');
    expect(formatDuration(200)).toBe('3 min 20 s');
    expect(formatDuration(299.6)).toBe('5 min 0 s');
    expect(formatDuration(3599.7)).toBe('1 h 0 min');
    expect(formatDuration(3900)).toBe('1 h 5 min');
    expect(formatDuration(7199.9)).toBe('2 h 0 min');
    expect(formatDuration(-1)).toBe('–');
    expect(formatDuration(NaN)).toBe('–');
  });
});
