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
