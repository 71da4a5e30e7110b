// What the tests of the bridge to PyTorch share: a Python that has PyTorch, found once, or null
// (the tests then say so in one line and are reported as skipped).

import { spawnSync } from 'node:child_process';

/** A Python that has PyTorch (LSTM_LENS_PYTHON when set, else Debian's /usr/bin/python3 or python3 on the PATH), or null. */
function torchPython(): string | null {
  const chosen = process.env.LSTM_LENS_PYTHON;
  const candidates = chosen ? [chosen] : ['/usr/bin/python3', 'python3'];
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return python;
  }
  return null;
}

export const PYTHON = torchPython();
export const NO_TORCH = 'PyTorch is not installed (python3 -c "import torch" fails): the bridge to PyTorch is not tested here';

