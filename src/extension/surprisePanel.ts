// The panel's side of "why": for the document in view, its time line (the kept snapshots and their
// samples, the latest last) and the baseline (the LSTM's loss on the text's last tenth against
// n-gram orders 1..6: one worker job per text and weights, kept by the text's hash), and what the
// panel asks back: a snapshot chosen on the slider (the panel, Show Surprise and Why This
// Prediction? then read its weights) or a token picked for attribution.

import { createHash } from 'node:crypto';
import * as vscode from 'vscode';
import type { Baseline } from '../protocol/why';
import type { Attribution } from './attribution';
import type { Host } from './host';
import type { InspectPanel } from './inspectPanel';
import type { PanelFollow } from './panelFollow';
import type { TimeLine } from './snapshots';
import type { Analyses } from './surpriseAnalysis';

/** Baselines kept (a few files, a few snapshots each). */
const BASELINES_KEPT = 16;
/** A text longer than this has no baseline in the panel (`lstm-lens baseline` measures any size). */
const BASELINE_MAX_CHARS = 2_000_000;

export class SurprisePanel {
  private readonly listening = new WeakSet<InspectPanel>();
  private readonly baselines = new Map<string, Baseline | string>();
  private pending: string | null = null;

  constructor(
    private readonly host: Host,
    private readonly follow: PanelFollow,
    private readonly timeLine: TimeLine,
    private readonly analyses: Analyses,
    private readonly attribution: Attribution,
  ) {
    follow.checkpointFor = (uri) => timeLine.checkpointFor(uri);
    follow.pinned = (uri) => timeLine.chosenStep(uri) !== null;
    follow.afterUpdate = (uri, panel) => this.update(uri, panel);
  }

  private update(uri: string, panel: InspectPanel): void {
    if (!this.listening.has(panel)) {
      this.listening.add(panel);
      panel.listenWhy((message, trace) => {
        const documentUri = this.follow.documentUri;
        if (documentUri === null) return;
        if (message.type === 'whyChooseSnapshot') {
          this.timeLine.choose(documentUri, message.step);
          this.follow.schedule(0);
        } else if (trace && trace.placement.documentUri === documentUri && message.t + 1 < trace.message.T) {
          const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === documentUri);
          if (!document || document.version !== trace.placement.documentVersion) return;
          // The prediction at t is of token t+1: the attribution of the token that starts there.
          void this.attribution.at(document, trace.placement.offset + trace.message.spans[2 * (message.t + 1)]);
        }
      });
    }
    let latest: { step: number; loss: number | null } | null = null;
    try {
      const s = this.host.store.summary(uri);
      latest = s ? { step: s.step, loss: s.loss } : null;
    } catch {
      latest = null;
    }
    const run = this.host.runs.get(uri);
    panel.show(this.timeLine.message(uri, run ? { step: run.step, loss: run.loss } : latest));
    if (!run) void this.baseline(uri, panel);
  }

  /** The baseline of the document's text and the weights in view: kept, or computed once in a worker. */
  private async baseline(uri: string, panel: InspectPanel): Promise<void> {
    const document = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri);
    if (!document) return;
    const text = document.getText();
    if (text.length > BASELINE_MAX_CHARS) {
      panel.show({ type: 'whyBaseline', baseline: null, note: `The text is longer than ${BASELINE_MAX_CHARS.toLocaleString('en')} characters: run lstm-lens baseline on it.` });
      return;
    }
    const checkpoint = this.timeLine.checkpointFor(uri);
    const key = createHash('sha256').update(text).update('\0').update(checkpoint).update('\0').update(this.host.store.identity(uri) ?? '').digest('hex');
    const kept = this.baselines.get(key);
    if (kept !== undefined) {
      panel.show(typeof kept === 'string' ? { type: 'whyBaseline', baseline: null, note: kept } : { type: 'whyBaseline', baseline: kept, note: null });
      return;
    }
    if (this.pending === key) return;
    this.pending = key;
    panel.show({ type: 'whyBaseline', baseline: null, note: 'Counting n-grams of the text…' });
    let result: Baseline | string;
    try {
      const answer = await this.analyses.run('baseline', checkpoint, text, { kind: 'baseline' });
      if (!answer || answer.kind !== 'baseline') return;
      result = answer.baseline;
    } catch (e) {
      result = (e as Error).message;
    } finally {
      if (this.pending === key) this.pending = null;
    }
    if (this.baselines.size >= BASELINES_KEPT) this.baselines.delete(this.baselines.keys().next().value as string);
    this.baselines.set(key, result);
    if (this.follow.panel === panel && this.follow.documentUri === uri) {
      panel.show(typeof result === 'string' ? { type: 'whyBaseline', baseline: null, note: result } : { type: 'whyBaseline', baseline: result, note: null });
    }
  }
}
