// Names of the model's tensors as PyTorch's nn.LSTM spells them, for every layer that reads them
// (the engine, the command line, the panel). No imports: the webview takes it as it is.

/**
 * The suffix of layer l's names in direction d (0 or 'forward', 1 or 'backward'), as nn.LSTM's:
 * _l0, _l0_reverse (weight_ih_l0_reverse, gates_l1).
 */
export function parameterSuffix(l: number, d: number | 'forward' | 'backward'): string {
  return `_l${l}${d === 1 || d === 'backward' ? '_reverse' : ''}`;
}
