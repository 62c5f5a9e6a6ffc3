// What the hub may show of a broadcaster's location to others: a city-level label and
// coordinates rounded to 0.1° (≈ 11 km), never the device's 4-decimal fix (≈ 11 m).
import type { DecisionEvent, IngestChoice, Place } from '../protocol/index.js';
import { nearestCityLabel } from './gazetteer.js';

/** Decimal places kept of a public coordinate: 1 ≈ 11 km, a city, not a street. */
export const PUBLIC_COORDINATE_DECIMALS = 1;

const round = (x: number) => Math.round(x * 10 ** PUBLIC_COORDINATE_DECIMALS) / 10 ** PUBLIC_COORDINATE_DECIMALS;

/**
 * A place as others may see it. A gazetteer city (`typed`) keeps its label; coordinates and
 * device fixes (whose label the client wrote, and may be an address) get the nearest city's.
 */
export function publicPlace(p: Place): Place {
  const label = p.source === 'typed' || p.source === 'ip' ? p.label : `near ${nearestCityLabel(p.lat, p.lon) ?? 'an unknown place'}`;
  return { lat: round(p.lat), lon: round(p.lon), label, source: p.source };
}

function publicChoice<C extends IngestChoice | null>(c: C): C {
  return (c ? { ...c, from: publicPlace(c.from) } : c) as C;
}

/** A decision as it goes into the log, /api/decisions and the dashboard. */
export function publicDecision(d: DecisionEvent): DecisionEvent {
  if (d.kind !== 'publish') return d;
  return {
    ...d,
    typed: publicPlace(d.typed),
    ip: d.ip && publicPlace(d.ip),
    primary: publicChoice(d.primary),
    backup: publicChoice(d.backup),
  };
}
