// Flag values are read as people write them: decimal only (no hex, binary, octal, blanks or an empty string taken
// as 0), -0 as 0; ids as the hub checks them, so the CLI refuses what the hub would (or mints a key no one can use).
import { describe, expect, it } from 'vitest';
import { assetId, int, loadBound, loadWeights, num, secondsOrOff } from '../../node-app/cli/parsers.js';

const port = int('port', 0, 65535);
const lat = num('lat', -90, 90);

describe('baton flag parsers', () => {
  it('int: decimal digits only', () => {
    expect(port('8080')).toBe(8080);
    expect(port('+80')).toBe(80);
    expect(Object.is(port('-0'), 0)).toBe(true);
    for (const bad of ['0x10', '0b11', '0o7', '1e3', ' 5 ', '', '5.0', '1e309', 'NaN', 'Infinity', '99999', '-1', '٣'])
      expect(() => port(bad), bad).toThrow(/port must be an integer in 0\.\.65535/);
  });

  it('num: decimal with a fraction or exponent, never another base', () => {
    expect(lat('50.11')).toBe(50.11);
    expect(lat('-.5')).toBe(-0.5);
    expect(lat('1e1')).toBe(10);
    expect(Object.is(lat('-0'), 0)).toBe(true);
    for (const bad of ['0x10', '0b1', '', ' ', ' 5', '1e309', 'NaN', '-Infinity', '91', '1,5', '.'])
      expect(() => lat(bad), bad).toThrow(/lat must be a number/);
  });

  it('load weights and load bound: the same rule', () => {
    expect(loadWeights('egress=1,cpu=0.5').cpu).toBe(0.5);
    expect(() => loadWeights('egress=1,cpu=0x1')).toThrow(/expected sessions=N/);
    expect(() => loadWeights('egress=')).toThrow(/expected sessions=N/);
    expect(loadBound('0.2')).toBe(0.2);
    expect(loadBound('off')).toBe('off');
    for (const bad of ['0x1', ' ', '', '1e309']) expect(() => loadBound(bad), bad).toThrow(/expected a number from 0 to 100/);
  });

  it('seconds or off (--hub-return-s): a number in range, or "off" kept as such', () => {
    const parse = secondsOrOff('hub-return-s', 1, 86_400);
    expect(parse('30')).toBe(30);
    expect(parse('1.5')).toBe(1.5);
    expect(parse('off')).toBe('off');
    for (const bad of ['0', '86401', 'OFF', '', '0x10', 'never'])
      expect(() => parse(bad), bad).toThrow(/hub-return-s must be a number in 1\.\.86400/);
  });

  it('ids (asset, stream, server): refused locally as the hub would refuse them', () => {
    expect(assetId('my-show_2')).toBe('my-show_2');
    for (const bad of ['../x', '', '-x', 'a'.repeat(65), 'a/b', 'a b', '%2e%2e']) expect(() => assetId(bad), bad).toThrow(/expected 1–64/);
  });
});
