// Recorded panel messages are stored in the panel's own state encoding (webview/store.ts):
// Float32Arrays as {"$f32": base64} in JSON, and back.

export { encodeFloats as encodeRecording, decodeFloats as decodeRecording } from '../../webview/store';
