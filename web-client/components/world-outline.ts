// A coarse outline of the continents as SVG path data, in equirectangular coordinates (x = lon, y = -lat).
import { RINGS, type Ring } from './world-outline-rings.js';

function ringPath(ring: Ring): string {
  return ring.map(([lon, lat], i) => `${i === 0 ? 'M' : 'L'}${lon} ${-lat}`).join('') + 'Z';
}

/** Land, as one path in map units (x = longitude, y = −latitude). */
export const LAND_PATH = RINGS.map(ringPath).join('');

/** The map's visible latitudes: Antarctica and the high Arctic carry no servers. */
export const MAP_NORTH_LAT = 84;
export const MAP_SOUTH_LAT = -58;
