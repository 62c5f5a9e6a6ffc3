// The broadcast page tells the app shell when it goes on and off air, so the broadcast can outlive a change of page.

/** Fired (bubbles, composed) by <baton-broadcaster> whenever it goes on or off air. */
export const ON_AIR_EVENT = 'baton-on-air';

export type OnAirEvent = CustomEvent<{ live: boolean }>;

export function onAirEvent(live: boolean): OnAirEvent {
  return new CustomEvent(ON_AIR_EVENT, { detail: { live }, bubbles: true, composed: true });
}

declare global {
  interface HTMLElementEventMap {
    [ON_AIR_EVENT]: OnAirEvent;
  }
}
