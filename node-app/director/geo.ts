// Geography for the ingest policy: great-circle distance and an RTT estimate from it.
import type { GeoPoint } from '../../signaling/protocol/types.js';

/** Mean Earth radius (IUGG), km. */
export const EARTH_RADIUS_KM = 6371.0088;
/** Light in optical fibre covers about 200 km per millisecond (refractive index ≈ 1.5). */
export const FIBER_KM_PER_MS = 200;
/** Real routes are about twice as long as the great circle between their ends. */
export const ROUTE_FACTOR = 2;
/** Fixed cost of any round trip (last mile, switching, server turnaround), ms. */
export const BASE_RTT_MS = 2;

const RADIANS_PER_DEGREE = Math.PI / 180;

/** Great-circle distance between two points (haversine), km. */
export function distanceKm(a: GeoPoint, b: GeoPoint): number {
  const phi1 = a.lat * RADIANS_PER_DEGREE;
  const phi2 = b.lat * RADIANS_PER_DEGREE;
  const dPhi = phi2 - phi1;
  const dLambda = (b.lon - a.lon) * RADIANS_PER_DEGREE;
  const h = Math.sin(dPhi / 2) ** 2 + Math.cos(phi1) * Math.cos(phi2) * Math.sin(dLambda / 2) ** 2;
  // Rounding can push h a hair past 1 for antipodal points; asin would return NaN.
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.sqrt(Math.min(1, Math.max(0, h))));
}

/**
 * Estimated round-trip time between two points, ms:
 * `BASE_RTT_MS + 2 × ROUTE_FACTOR × distanceKm / FIBER_KM_PER_MS`
 * (there and back, over a route twice the great circle, at light speed in fibre).
 * Frankfurt–New York (≈ 6,200 km) comes out near 126 ms.
 */
export function estimateRttMs(a: GeoPoint, b: GeoPoint): number {
  return BASE_RTT_MS + (2 * ROUTE_FACTOR * distanceKm(a, b)) / FIBER_KM_PER_MS;
}
