// One analysis of a text by the saved model or one of its snapshots (src/protocol/why.ts), in a
// Node worker of its own: surprise, attribution or the baseline. A newer analysis of the same kind
// replaces an older one (its worker is ended).

import type { AnalyzeRequest } from '../protocol/worker';
import type { AnalyzedAnswer } from '../protocol/why';
import type { Host } from './host';
import { messageText } from './names';
import { WorkerJob } from './workerJob';

export class Analyses {
  private readonly running = new Map<string, WorkerJob>();

  constructor(private readonly host: Host) {}

  /** The answer, or null when a newer analysis of the same `slot` replaced this one; a failure throws its one-line reason. */
  async run(slot: string, checkpointPath: string, text: string, question: AnalyzeRequest['question']): Promise<AnalyzedAnswer | null> {
    void this.running.get(slot)?.kill();
    let answer: AnalyzedAnswer | null = null;
    const job = new WorkerJob(
      this.host.workerScript,
      { type: 'analyze', checkpointPath, text, question },
      {
        onMessage: (m) => {
          if (m.type === 'analyzed') answer = m.answer;
        },
        onMalformed: (error) => this.host.output.warn(`ignored a malformed message from the analysis worker: ${messageText(error)}`),
      },
    );
    this.running.set(slot, job);
    const outcome = await job.outcome;
    if (this.running.get(slot) !== job) return null;
    this.running.delete(slot);
    if (outcome.kind !== 'finished') throw new Error(messageText(outcome.message));
    return answer;
  }

  dispose(): void {
    for (const job of this.running.values()) void job.kill();
    this.running.clear();
  }
}
