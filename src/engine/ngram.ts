// The baseline an LSTM has to beat: an n-gram model over the same tokens (characters or words),
// with interpolated Kneser–Ney smoothing (Chen & Goodman 1998, "interpolated Kneser–Ney": one
// discount per order, not the three of the modified variant), fitted on the first 90% of a text
// and measured on the last 10% (the split of trainer.ts's EVALUATION_FRACTION), in nats per
// token like the LSTM's loss.
//
// For the highest order n of a model, with context h (the n-1 tokens before w) and h' = h less its
// oldest token, from raw counts c:
//   P_n(w | h) = max(c(h w) - D, 0) / c(h •) + D · N1+(h •) / c(h •) · P_{n-1}(w | h')
// and each lower order the same with continuation counts N1+(• h w) (how many distinct tokens
// come before h w) in place of c. Order 0 is uniform over the vocabulary, 1 / V, so a token never
// seen in the training part still has a probability. c(h •) = Σ_w c(h w); N1+(h •) = the
// distinct w with c(h w) > 0. A context never seen (c(h •) = 0) leaves the order below's answer.
// The discount D of an order is n1 / (n1 + 2 n2) from its counts of counts (n1 n-grams seen once,
// n2 twice; continuation counts for the lower orders), or 0.5 where n1 = 0.
//
// The counts sit in a trie of contexts read backwards (most recent token first), so h' is h's
// parent: one walk from the root gives every order's context for a position.

import { InputError } from './config';

/** The orders a baseline measures: 1 (unigram) to 6. */
export const NGRAM_MAX_ORDER = 6;
/** The held-out part of a text, as trainer.ts's EVALUATION_FRACTION: its last tenth. */
export const NGRAM_HELDOUT_FRACTION = 0.1;
/**
 * The most distinct n-grams a model counts (about 1.2 GB of maps at the limit); a text with more
 * (several megabytes of varied characters at order 6) is refused once it reaches them, instead of
 * growing until the maps' own limit (2^24 entries) or the memory ends the process.
 */
export const NGRAM_MAX_ENTRIES = 2 ** 23;
/** The discount of an order without a count of 1 to estimate it from. */
const FALLBACK_DISCOUNT = 0.5;

export class NgramModel {
  /** Children of a context node: key node · V + older token → node. Node 0 is the empty context. */
  private readonly children = new Map<number, number>();
  /** The n-gram (context node, next token): key node · V + token → entry. */
  private readonly entries = new Map<number, number>();
  private readonly raw: number[] = [];
  private readonly cont: number[] = [];
  private readonly entryNode: number[] = [];
  private readonly depth: number[] = [0];
  /** Per context node: Σ_w c(h w), N1+(h •), Σ_w N1+(• h w), and the w with N1+(• h w) > 0. */
  private sumRaw = new Float64Array(0);
  private typesRaw = new Float64Array(0);
  private sumCont = new Float64Array(0);
  private typesCont = new Float64Array(0);
  /** D by context length (order - 1): for the highest order (raw counts), and the lower ones (continuation counts). */
  readonly rawDiscount: number[] = [];
  readonly contDiscount: number[] = [];

  private constructor(
    readonly vocabSize: number,
    readonly maxOrder: number,
    readonly trainTokens: number,
  ) {}

  /**
   * Counts every n-gram of orders 1..maxOrder in `ids` (ids below vocabSize). Cost: O(n · maxOrder)
   * map operations; memory grows with the distinct n-grams (about 2 M for 1 MB of characters at
   * order 6, a few hundred MB).
   */
  static fit(ids: ArrayLike<number>, vocabSize: number, maxOrder: number = NGRAM_MAX_ORDER, maxEntries: number = NGRAM_MAX_ENTRIES): NgramModel {
    if (!Number.isSafeInteger(maxOrder) || maxOrder < 1 || maxOrder > NGRAM_MAX_ORDER) throw new InputError(`the order must be a whole number from 1 to ${NGRAM_MAX_ORDER}, got ${maxOrder}`);
    if (!Number.isSafeInteger(vocabSize) || vocabSize < 1) throw new InputError(`the vocabulary size must be a positive whole number, got ${vocabSize}`);
    const m = new NgramModel(vocabSize, maxOrder, ids.length);
    const V = vocabSize;
    for (let i = 0; i < ids.length; i++) {
      const w = ids[i];
      if (!(Number.isInteger(w) && w >= 0 && w < V)) throw new InputError(`token id ${w} at ${i} is outside the vocabulary of ${V}`);
      let node = 0;
      let below = -1;
      for (let k = 0; k < maxOrder && k <= i; k++) {
        if (k > 0) node = m.child(node, ids[i - k]);
        const e = m.entry(node, w);
        if (m.raw.length > maxEntries) {
          throw new InputError(
            `the text has more than ${maxEntries.toLocaleString('en-US')} distinct n-grams of orders 1 to ${maxOrder} (found by token ${i.toLocaleString('en-US')} of ${ids.length.toLocaleString('en-US')}), more than the baseline counts in memory: measure a lower order or a part of the text`,
          );
        }
        // A (k+1)-gram seen for the first time is one more distinct token before its suffix.
        if (++m.raw[e] === 1 && below >= 0) m.cont[below]++;
        below = e;
      }
    }
    m.summarize();
    return m;
  }

  private child(node: number, token: number): number {
    const key = node * this.vocabSize + token;
    let c = this.children.get(key);
    if (c === undefined) {
      c = this.depth.length;
      this.depth.push(this.depth[node] + 1);
      this.children.set(key, c);
    }
    return c;
  }

  private entry(node: number, token: number): number {
    const key = node * this.vocabSize + token;
    let e = this.entries.get(key);
    if (e === undefined) {
      e = this.raw.length;
      this.raw.push(0);
      this.cont.push(0);
      this.entryNode.push(node);
      this.entries.set(key, e);
    }
    return e;
  }

  /** Per-context sums and the discounts from the counts of counts. */
  private summarize(): void {
    const nodes = this.depth.length;
    this.sumRaw = new Float64Array(nodes);
    this.typesRaw = new Float64Array(nodes);
    this.sumCont = new Float64Array(nodes);
    this.typesCont = new Float64Array(nodes);
    const n1 = [new Array<number>(this.maxOrder).fill(0), new Array<number>(this.maxOrder).fill(0)];
    const n2 = [new Array<number>(this.maxOrder).fill(0), new Array<number>(this.maxOrder).fill(0)];
    for (let e = 0; e < this.raw.length; e++) {
      const node = this.entryNode[e];
      const d = this.depth[node];
      this.sumRaw[node] += this.raw[e];
      this.typesRaw[node]++;
      if (this.raw[e] === 1) n1[0][d]++;
      else if (this.raw[e] === 2) n2[0][d]++;
      if (this.cont[e] > 0) {
        this.sumCont[node] += this.cont[e];
        this.typesCont[node]++;
        if (this.cont[e] === 1) n1[1][d]++;
        else if (this.cont[e] === 2) n2[1][d]++;
      }
    }
    const discount = (a: number, b: number): number => (a > 0 ? a / (a + 2 * b) : FALLBACK_DISCOUNT);
    for (let d = 0; d < this.maxOrder; d++) {
      this.rawDiscount.push(discount(n1[0][d], n2[0][d]));
      this.contDiscount.push(discount(n1[1][d], n2[1][d]));
    }
  }

  private checkOrder(order: number): void {
    if (!Number.isSafeInteger(order) || order < 1 || order > this.maxOrder) throw new InputError(`the order must be a whole number from 1 to ${this.maxOrder}, got ${order}`);
  }

  /**
   * P(w | the tokens seq[from..to)), the most recent last, by the model of order `order` (its
   * last order - 1 tokens are the context; fewer at the start of a text). O(order) map lookups.
   */
  private probabilityAt(seq: ArrayLike<number>, from: number, to: number, w: number, order: number): number {
    const V = this.vocabSize;
    const j = Math.min(order - 1, to - from);
    let p = 1 / V;
    let node = 0;
    for (let k = 0; k <= j; k++) {
      if (k > 0) {
        const next = this.children.get(node * V + seq[to - k]);
        if (next === undefined) break;
        node = next;
      }
      const top = k === j;
      const denominator = top ? this.sumRaw[node] : this.sumCont[node];
      if (denominator === 0) continue;
      const e = this.entries.get(node * V + w);
      const count = e === undefined ? 0 : top ? this.raw[e] : this.cont[e];
      const D = top ? this.rawDiscount[k] : this.contDiscount[k];
      const types = top ? this.typesRaw[node] : this.typesCont[node];
      p = Math.max(count - D, 0) / denominator + ((D * types) / denominator) * p;
    }
    return p;
  }

  /** P(token | context) by the model of `order` (default the highest); the context's last order - 1 tokens count. */
  probability(context: ArrayLike<number>, token: number, order: number = this.maxOrder): number {
    this.checkOrder(order);
    return this.probabilityAt(context, 0, context.length, token, order);
  }

  /** The next token's distribution over the whole vocabulary after `context`: (V), summing to 1. O(V · order). */
  distribution(context: ArrayLike<number>, order: number = this.maxOrder): Float64Array {
    this.checkOrder(order);
    const out = new Float64Array(this.vocabSize);
    for (let w = 0; w < this.vocabSize; w++) out[w] = this.probabilityAt(context, 0, context.length, w, order);
    return out;
  }

  /**
   * (n - 1): -ln P(ids[t+1] | ids[..t]) for t = 0..n-2, the context read from `ids` alone (as the
   * LSTM reads a text from a zero state): aligned with inspect's token_loss. O(n · order).
   */
  tokenLosses(ids: ArrayLike<number>, order: number = this.maxOrder): Float64Array {
    this.checkOrder(order);
    const out = new Float64Array(Math.max(0, ids.length - 1));
    for (let t = 0; t + 1 < ids.length; t++) out[t] = -Math.log(this.probabilityAt(ids, 0, t + 1, ids[t + 1], order));
    return out;
  }
}

export interface BaselineResult {
  train_tokens: number;
  heldout_tokens: number;
  /** Mean cross-entropy (nats per token) over the held-out part's n - 1 predictions, by order. */
  orders: Array<{ order: number; loss: number }>;
  /** The order with the lowest held-out loss. */
  best: number;
  model: NgramModel;
}

/** Where a text of n tokens splits: the first n - floor(n / 10) are fitted on, the rest measured. */
export function baselineSplit(n: number): { train: number; heldout: number } {
  const heldout = Math.floor(n * NGRAM_HELDOUT_FRACTION);
  return { train: n - heldout, heldout };
}

/**
 * Fits orders 1..maxOrder on the first 90% of `ids` and measures each on the last 10%, read from
 * its own start. Cost: one fit (see NgramModel.fit) and maxOrder passes over the held-out part.
 */
export function ngramBaseline(ids: Int32Array, vocabSize: number, maxOrder: number = NGRAM_MAX_ORDER): BaselineResult {
  const { train, heldout } = baselineSplit(ids.length);
  if (heldout < 2) throw new InputError(`the text has ${ids.length} tokens: its last tenth (${heldout}) is too short to measure a loss on (at least 20 tokens are needed)`);
  const model = NgramModel.fit(ids.subarray(0, train), vocabSize, maxOrder);
  const held = ids.subarray(train);
  const orders: Array<{ order: number; loss: number }> = [];
  for (let order = 1; order <= maxOrder; order++) {
    const losses = model.tokenLosses(held, order);
    let sum = 0;
    for (const x of losses) sum += x;
    orders.push({ order, loss: sum / losses.length });
  }
  const best = orders.reduce((a, b) => (b.loss < a.loss ? b : a)).order;
  return { train_tokens: train, heldout_tokens: heldout, orders, best, model };
}

/**
 * Per token, how much better the LSTM predicts it than the n-gram model: the n-gram's loss less
 * the LSTM's (positive where the LSTM learned something counting does not give). Both (T - 1),
 * aligned as inspect's token_loss and NgramModel.tokenLosses are.
 */
export function perTokenGain(lstmTokenLoss: ArrayLike<number>, ngramTokenLoss: ArrayLike<number>): Float64Array {
  if (lstmTokenLoss.length !== ngramTokenLoss.length) throw new InputError(`the LSTM's ${lstmTokenLoss.length} token losses and the n-gram's ${ngramTokenLoss.length} do not align`);
  return Float64Array.from(lstmTokenLoss, (x, t) => ngramTokenLoss[t] - x);
}
