// Base64 of float32 data, in any runtime (no Node Buffer, no atob): the checkpoint's carried state
// in its JSON metadata, and the panel's saved state ({"$f32": base64}).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each character's value, -1 outside the alphabet. */
const VALUES = new Int8Array(128).fill(-1);
for (let k = 0; k < ALPHABET.length; k++) VALUES[ALPHABET.charCodeAt(k)] = k;

/** The bytes of `data`, base64 with padding. */
export function float32ToBase64(data: Float32Array): string {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const parts: string[] = [];
  let out = '';
  for (let k = 0; k < bytes.length; k += 3) {
    const n = (bytes[k] << 16) | ((bytes[k + 1] ?? 0) << 8) | (bytes[k + 2] ?? 0);
    out += ALPHABET[(n >> 18) & 63] + ALPHABET[(n >> 12) & 63];
    out += k + 1 < bytes.length ? ALPHABET[(n >> 6) & 63] : '=';
    out += k + 2 < bytes.length ? ALPHABET[n & 63] : '=';
    if (out.length >= 0x4000) {
      parts.push(out);
      out = '';
    }
  }
  parts.push(out);
  return parts.join('');
}

/** The bytes base64 `text` holds (trailing padding optional); null when a character is outside the alphabet. */
export function base64ToBytes(text: string): Uint8Array | null {
  const clean = text.replace(/=+$/, '');
  const bytes = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let acc = 0, bits = 0, o = 0;
  for (let k = 0; k < clean.length; k++) {
    const c = clean.charCodeAt(k);
    const v = c < 128 ? VALUES[c] : -1;
    if (v < 0) return null;
    acc = ((acc << 6) | v) & 0x3fff; // at most 13 bits are pending
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[o++] = (acc >> bits) & 255;
    }
  }
  return bytes;
}

/** The float32 values base64 `text` holds; null when it is not base64 or not whole values. */
export function base64ToFloat32(text: string): Float32Array | null {
  const bytes = base64ToBytes(text);
  if (bytes === null || bytes.length % 4 !== 0) return null;
  return new Float32Array(bytes.buffer, 0, bytes.length / 4);
}
