// Colour scales of the heatmaps, from d3-scale-chromatic (perceptually uniform schemes; no colour
// maths of our own). Two kinds:
//   sequential: viridis over [0, 1], for the sigmoid gates i, f and o;
//   diverging:  RdBu, symmetric around 0 over [-m, m] with m the largest |value| of the map, for
//               g, c, h and every gradient: blue below zero, near-white at zero, red above.
// These are the only hard-coded colours of the panel: the rest follows the VS Code theme.

import { interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';

/** 256 colours of a scheme, as packed RGBA bytes for ImageData. */
type Lut = Uint8ClampedArray;

function parseColour(css: string): [number, number, number] {
  const rgb = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(css);
  if (rgb) return [Number(rgb[1]), Number(rgb[2]), Number(rgb[3])];
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(css);
  if (hex) return [parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)];
  return [0, 0, 0];
}

function makeLut(interpolate: (t: number) => string): Lut {
  const lut = new Uint8ClampedArray(256 * 4);
  for (let i = 0; i < 256; i++) {
    const [r, g, b] = parseColour(interpolate(i / 255));
    lut.set([r, g, b, 255], i * 4);
  }
  return lut;
}

const viridis = makeLut(interpolateViridis);
// RdBu runs red (0) to blue (1); reversed so that positive values are red.
const rdbu = makeLut((t) => interpolateRdBu(1 - t));

export interface ColourScale {
  kind: 'sequential' | 'diverging';
  min: number;
  max: number;
  lut: Lut;
  /** Index 0..255 of a value in the LUT (values outside the domain clamp). */
  index(v: number): number;
  css(v: number): string;
}

function scale(kind: ColourScale['kind'], min: number, max: number, lut: Lut): ColourScale {
  const span = max - min || 1;
  const index = (v: number): number => {
    if (!Number.isFinite(v)) return 0;
    const t = Math.round(((v - min) / span) * 255);
    return t < 0 ? 0 : t > 255 ? 255 : t;
  };
  return {
    kind,
    min,
    max,
    lut,
    index,
    css: (v) => {
      const i = index(v) * 4;
      return `rgb(${lut[i]}, ${lut[i + 1]}, ${lut[i + 2]})`;
    },
  };
}

/** viridis over [0, 1]: the sigmoid gates. */
export function gateScale(): ColourScale {
  return scale('sequential', 0, 1, viridis);
}

/** RdBu over [-m, m], m = the largest |value| (1e-12 when all are 0). */
export function divergingScale(maxAbs: number): ColourScale {
  const m = maxAbs > 0 && Number.isFinite(maxAbs) ? maxAbs : 1e-12;
  return scale('diverging', -m, m, rdbu);
}

export function maxAbs(data: Float32Array, start = 0, end = data.length): number {
  let m = 0;
  for (let i = start; i < end; i++) {
    const a = Math.abs(data[i]);
    if (a > m) m = a;
  }
  return m;
}

/** The percentile the signed maps are clipped at: one outlier no longer washes out the rest. */
export const CLIP_PERCENTILE = 99;

export interface Clip {
  /** The scale's |value| at full colour: the CLIP_PERCENTILE-th percentile of |value|. */
  m: number;
  /** The largest |value| (values past m show at full colour). */
  max: number;
  /** How many values lie past m. */
  over: number;
}

/** The CLIP_PERCENTILE-th percentile of |value| over values [start, end) taken every `stride`. */
export function clipOf(data: ArrayLike<number>, start = 0, end = data.length, stride = 1): Clip {
  const abs: number[] = [];
  for (let i = start; i < end; i += stride) {
    const a = Math.abs(data[i]);
    if (Number.isFinite(a)) abs.push(a);
  }
  if (abs.length === 0) return { m: 0, max: 0, over: 0 };
  abs.sort((a, b) => a - b);
  const max = abs[abs.length - 1];
  const m = abs[Math.min(abs.length - 1, Math.ceil((CLIP_PERCENTILE / 100) * abs.length) - 1)];
  let over = 0;
  for (const a of abs) if (a > m) over++;
  return { m, max, over };
}

/** A diverging scale clipped at the percentile, remembering what it clipped (for the legend). */
export function clippedScale(clip: Clip): ColourScale & { clip: Clip } {
  return { ...divergingScale(clip.m > 0 ? clip.m : clip.max), clip };
}

/** Black or white, whichever reads better on the LUT's colour at index i. */
export function inkOn(lut: Uint8ClampedArray, i: number): string {
  const k = i * 4;
  const lum = (0.2126 * lut[k] + 0.7152 * lut[k + 1] + 0.0722 * lut[k + 2]) / 255;
  return lum > 0.5 ? '#000000' : '#ffffff';
}

/** viridis over log10 p from 10^-3 to 1: the probability the model gave a token. */
export function probabilityScale(): ColourScale {
  const s = scale('sequential', -3, 0, viridis);
  return { ...s, index: (p: number) => s.index(p > 0 ? Math.log10(p) : -3), css: (p: number) => s.css(p > 0 ? Math.log10(p) : -3) };
}
