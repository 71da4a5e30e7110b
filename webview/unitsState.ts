// What the Units tab knows (webview/sections/units.ts draws it): the latest answer of each kind.

import type { UnitsClamp, UnitsHostToPanel, UnitsMessage } from '../src/protocol/units';

export type Of<T extends UnitsHostToPanel['type']> = Extract<UnitsHostToPanel, { type: T }>;

/** What the Units tab knows: the latest message of each kind. */
export class UnitsState {
  progress: Of<'unitsProgress'> | null = null;
  result: UnitsMessage | null = null;
  leaders: Of<'unitsLeaders'> | null = null;
  colour: number | null = null;
  compare: Of<'unitsCompare'> | null = null;
  clampOn: UnitsClamp | null = null;
  error: string | null = null;

  apply(m: UnitsHostToPanel): void {
    switch (m.type) {
      case 'unitsProgress':
        this.progress = m.done < m.total ? m : null;
        this.error = null;
        break;
      case 'units':
        this.result = m;
        this.progress = null;
        this.error = null;
        break;
      case 'unitsLeaders':
        this.leaders = m;
        break;
      case 'unitsColour':
        this.colour = m.unit;
        break;
      case 'unitsCompare':
        this.compare = m;
        this.error = null;
        break;
      case 'unitsClampOn':
        this.clampOn = m.clamp;
        break;
      case 'unitsError':
        this.error = m.text;
        this.progress = null;
        break;
    }
  }
}
