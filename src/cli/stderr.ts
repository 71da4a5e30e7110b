// What the command line says on stderr (progress, notes, refusals), until stderr is a closed pipe.

/** False once stderr is a closed pipe (`lstm-lens train ... 2>&1 | head -2`): the run goes on, silently. */
let stderrOpen = true;

export function say(line: string): void {
  if (stderrOpen) process.stderr.write(`${line}\n`);
}

export function stderrIsOpen(): boolean {
  return stderrOpen;
}

/** Called on any error of stderr: there is nowhere left to report anything. */
export function closeStderr(): void {
  stderrOpen = false;
}
