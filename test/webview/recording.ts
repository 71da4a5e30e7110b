// Recorded panel messages: Float32Arrays as {"$f32": base64} in JSON, and back.

export function encodeRecording(value: unknown): unknown {
  if (value instanceof Float32Array) return { $f32: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') };
  if (Array.isArray(value)) return value.map(encodeRecording);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encodeRecording(v)]));
  return value;
}

export function decodeRecording(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(decodeRecording);
  if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    if (typeof o.$f32 === 'string' && Object.keys(o).length === 1) {
      const bytes = Buffer.from(o.$f32, 'base64');
      const out = new Float32Array(bytes.length / 4);
      new Uint8Array(out.buffer).set(bytes);
      return out;
    }
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decodeRecording(v)]));
  }
  return value;
}
