// A number typed into an <input type="number">. The input reads "" both when it is empty and when
// what was typed is not a number ("abc", "-", "1e"), and Number("") is 0: read naively, a typo
// becomes 0 and is acted on. Here it is null, and the field says why next to itself.

/** The input's number; `empty` when it is empty (null: empty is not a value); null when it is not a number. */
export function fieldNumber(input: HTMLInputElement, empty: number | null = null): number | null {
  if (input.validity.badInput) return null;
  const text = input.value.trim();
  if (text === '') return empty;
  const x = Number(text);
  return Number.isFinite(x) ? x : null;
}

/** Shows (or, with null, clears) why the field's value is not used, in the field's own status line. */
export function fieldProblem(input: HTMLInputElement, problem: string | null): void {
  const wrap = input.parentElement;
  if (problem === null) input.removeAttribute('aria-invalid');
  else input.setAttribute('aria-invalid', 'true');
  let line = wrap?.querySelector<HTMLElement>(':scope > .field-problem') ?? null;
  if (!line && problem !== null && wrap) {
    line = document.createElement('span');
    line.className = 'field-problem';
    line.setAttribute('role', 'alert');
    wrap.append(line);
  }
  if (line) line.textContent = problem ?? '';
}
