// What the time line, the baseline and the attribution strip know (webview/sections/why.ts draws
// them): the latest message of each kind.

import type { WhyHostToPanel } from '../src/protocol/why';

export type WhyOf<K extends WhyHostToPanel['type']> = Extract<WhyHostToPanel, { type: K }>;

export class WhyState {
  timeline: WhyOf<'whyTimeline'> | null = null;
  baseline: WhyOf<'whyBaseline'> | null = null;
  attribution: WhyOf<'whyAttribution'> | null = null;

  /** Applies a message; returns the parts it changes. */
  apply(m: WhyHostToPanel): Array<'timeline' | 'attribution'> {
    switch (m.type) {
      case 'whyTimeline':
        this.timeline = m;
        return ['timeline'];
      case 'whyBaseline':
        this.baseline = m;
        return ['timeline'];
      case 'whyAttribution':
        this.attribution = m;
        return ['attribution'];
    }
  }

  /** The slider's stops: every snapshot, then the latest (step null). */
  stops(): Array<{ step: number | null; shownStep: number; loss: number | null; sample: string | null }> {
    const t = this.timeline;
    if (!t) return [];
    const out: Array<{ step: number | null; shownStep: number; loss: number | null; sample: string | null }> = t.snapshots.map((s) => ({ step: s.step, shownStep: s.step, loss: s.loss, sample: s.sample }));
    if (t.latest) out.push({ step: null, shownStep: t.latest.step, loss: t.latest.loss, sample: null });
    return out;
  }
}
