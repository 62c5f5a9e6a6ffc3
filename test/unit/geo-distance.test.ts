// Great-circle distances and the RTT estimate built on them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BASE_RTT_MS, EARTH_RADIUS_KM, FIBER_KM_PER_MS, ROUTE_FACTOR, distanceKm, estimateRttMs } from '../../node-app/director/geo.js';

const FRANKFURT = { lat: 50.1109, lon: 8.6821 };
const NEW_YORK = { lat: 40.7128, lon: -74.006 };
const LONDON = { lat: 51.5074, lon: -0.1278 };
const PARIS = { lat: 48.8566, lon: 2.3522 };
const SYDNEY = { lat: -33.8688, lon: 151.2093 };
const point = fc.record({ lat: fc.double({ min: -90, max: 90, noNaN: true }), lon: fc.double({ min: -180, max: 180, noNaN: true }) });

describe('distanceKm', () => {
  it('matches known city distances', () => {
    expect(distanceKm(FRANKFURT, NEW_YORK)).toBeGreaterThan(6150);
    expect(distanceKm(FRANKFURT, NEW_YORK)).toBeLessThan(6250);
    expect(distanceKm(LONDON, PARIS)).toBeGreaterThan(330);
    expect(distanceKm(LONDON, PARIS)).toBeLessThan(350);
    expect(distanceKm(LONDON, SYDNEY)).toBeGreaterThan(16_900);
    expect(distanceKm(LONDON, SYDNEY)).toBeLessThan(17_050);
  });

  it('is a quarter circumference along the equator from 0° to 90°, half between antipodes', () => {
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 90 })).toBeCloseTo((Math.PI / 2) * EARTH_RADIUS_KM, 6);
    expect(distanceKm({ lat: 0, lon: 0 }, { lat: 0, lon: 180 })).toBeCloseTo(Math.PI * EARTH_RADIUS_KM, 6);
    expect(distanceKm({ lat: 90, lon: 0 }, { lat: -90, lon: 0 })).toBeCloseTo(Math.PI * EARTH_RADIUS_KM, 6);
  });

  it('handles the antimeridian: 179°E to 179°W is about 222 km at the equator', () => {
    expect(distanceKm({ lat: 0, lon: 179 }, { lat: 0, lon: -179 })).toBeCloseTo(222.4, 0);
  });

  it('is symmetric, zero on the diagonal and never more than half the circumference', () => {
    fc.assert(
      fc.property(point, point, (a, b) => {
        const d = distanceKm(a, b);
        expect(d).toBeGreaterThanOrEqual(0);
        expect(d).toBeLessThanOrEqual(Math.PI * EARTH_RADIUS_KM + 1e-6);
        expect(distanceKm(b, a)).toBeCloseTo(d, 6);
        expect(distanceKm(a, a)).toBe(0);
      }),
    );
  });
});

describe('estimateRttMs', () => {
  it('is the base cost for two points in the same place', () => {
    expect(estimateRttMs(FRANKFURT, FRANKFURT)).toBe(BASE_RTT_MS);
  });

  it('takes the route twice the great circle, there and back, at fibre speed', () => {
    const d = distanceKm(FRANKFURT, NEW_YORK);
    expect(estimateRttMs(FRANKFURT, NEW_YORK)).toBeCloseTo(BASE_RTT_MS + (2 * ROUTE_FACTOR * d) / FIBER_KM_PER_MS, 9);
    // ≈ 126 ms: what a transatlantic round trip looks like in practice (measured 80–130 ms).
    expect(estimateRttMs(FRANKFURT, NEW_YORK)).toBeGreaterThan(120);
    expect(estimateRttMs(FRANKFURT, NEW_YORK)).toBeLessThan(130);
  });

  it('grows with distance', () => {
    expect(estimateRttMs(LONDON, PARIS)).toBeLessThan(estimateRttMs(LONDON, NEW_YORK));
    expect(estimateRttMs(LONDON, NEW_YORK)).toBeLessThan(estimateRttMs(LONDON, SYDNEY));
  });
});
