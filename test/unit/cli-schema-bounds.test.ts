// A value the CLI accepts is one the hub accepts: the flags that end up in a registration, a watch or a publish request
// are bounded by the protocol's own schemas (a server with a 65-character region was refused at registration for ever).
import { describe, expect, it } from 'vitest';
import type { Command } from 'commander';
import { createProgram } from '../../node-app/cli/program.js';
import { MAX_LINK_LIMIT_BPS, MIN_LINK_LIMIT_BPS } from '../../signaling/protocol/link-limit.js';
import { publishSchema, serverDescriptorSchema } from '../../signaling/protocol/messages.js';

const program = createProgram();
function parser(command: string, flag: string): (v: string) => unknown {
  const cmd = program.commands.find((c) => c.name() === command) as Command;
  const o = cmd.options.find((x) => x.long === flag);
  if (!o?.parseArg) throw new Error(`${command} ${flag} has no parser`);
  return (v) => o.parseArg!(v, undefined);
}
const d = serverDescriptorSchema.shape;

describe('baton: flags bounded by the protocol schemas', () => {
  it('server --region: what a registration may carry (1–64 characters)', () => {
    const region = parser('server', '--region');
    expect(region('a'.repeat(64))).toBe('a'.repeat(64));
    expect(d.region.safeParse('a'.repeat(64)).success).toBe(true);
    expect(() => region('a'.repeat(65))).toThrow(/region must be 1–64 characters, got 65/);
  });

  it('server --max-sessions and --max-ingest-sessions: up to what a registration may carry', () => {
    const max = d.maxSessions.maxValue!;
    expect(parser('server', '--max-sessions')(String(max))).toBe(max);
    expect(() => parser('server', '--max-sessions')(String(max + 1))).toThrow(/max-sessions must be an integer in 1\.\.1000000/);
    expect(() => parser('server', '--max-ingest-sessions')('2000000')).toThrow(/max-ingest-sessions must be an integer/);
  });

  it('server --uplink-mbps, --lat, --lon: every accepted value passes the registration schema', () => {
    for (const [flag, field, values] of [
      ['--uplink-mbps', d.uplinkMbps, ['0.001', '1000000']],
      ['--lat', d.lat, ['-90', '90']],
      ['--lon', d.lon, ['-180', '180']],
    ] as const)
      for (const v of values) expect(field.safeParse(parser('server', flag)(v)).success, `${flag} ${v}`).toBe(true);
  });

  it('watch --limit-kbps: in kbit/s, the limit the hub accepts in bit/s', () => {
    const kbps = parser('watch', '--limit-kbps');
    expect(kbps(String(MIN_LINK_LIMIT_BPS / 1000))).toBe(16);
    expect(kbps(String(MAX_LINK_LIMIT_BPS / 1000))).toBe(MAX_LINK_LIMIT_BPS / 1000);
    expect(() => kbps('1')).toThrow(/limit-kbps must be an integer in 16\.\.10000000/);
    expect(() => kbps(String(MAX_LINK_LIMIT_BPS / 1000 + 1))).toThrow(/limit-kbps must be an integer/);
  });

  it('publish --stream-key, --title, --description, --location: refused here as the hub would', () => {
    expect(() => parser('publish', '--stream-key')('k'.repeat(513))).toThrow(/stream-key must be 1–512 characters/);
    expect(publishSchema.shape.streamKey.safeParse(parser('publish', '--stream-key')('k'.repeat(512))).success).toBe(true);
    expect(() => parser('publish', '--title')('t'.repeat(201))).toThrow(/title must be/);
    expect(() => parser('publish', '--title')('a\u202eb')).toThrow(/title: the title must not contain bidi overrides/);
    expect(() => parser('publish', '--description')('d'.repeat(2001))).toThrow(/description must be/);
    expect(parser('publish', '--location')('38.7,-9.1')).toBe('38.7,-9.1');
    expect(parser('publish', '--location')('Lisbon')).toBe('Lisbon');
    for (const bad of ['95,0', '0,181', 'x'.repeat(121)])
      expect(() => parser('publish', '--location')(bad), bad).toThrow(/expected a place name/);
  });
});
