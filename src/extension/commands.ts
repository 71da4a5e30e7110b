// The extension's commands and where they appear, in one typed table: package.json's
// contributes.commands and contributes.menus are generated from it (npm run sync:settings), and
// the code registers commands by these ids. No `vscode` import: unit-tested in plain Node.

export const CATEGORY = 'LSTM Lens';

export const COMMANDS = {
  train: { id: 'lstmLens.train', title: 'Train LSTM on This File', icon: '$(play)' },
  stop: { id: 'lstmLens.stop', title: 'Stop Training', icon: '$(debug-stop)' },
  generate: { id: 'lstmLens.generate', title: 'Generate Text at Cursor', icon: '$(sparkle)' },
  inspect: { id: 'lstmLens.inspect', title: 'Inspect States', icon: '$(graph)' },
  explainStep: { id: 'lstmLens.explainStep', title: 'Explain Step at Cursor', icon: '$(debug-step-into)' },
  findUnits: { id: 'lstmLens.findUnits', title: 'Find Units Active in Selection', icon: '$(search)' },
  showSurprise: { id: 'lstmLens.showSurprise', title: 'Show Surprise', icon: '$(eye)' },
  showGain: { id: 'lstmLens.showGain', title: 'Show Gain over N-gram' },
  whyPrediction: { id: 'lstmLens.whyPrediction', title: 'Why This Prediction?', icon: '$(question)' },
  exportTraining: { id: 'lstmLens.exportTraining', title: 'Export Training to PyTorch…', icon: '$(export)' },
  openPyTorchModel: { id: 'lstmLens.openPyTorchModel', title: 'Open PyTorch Model…', icon: '$(folder-opened)' },
  forget: { id: 'lstmLens.forget', title: 'Forget Model for This File', icon: '$(trash)' },
  forgetMissing: { id: 'lstmLens.forgetMissing', title: 'Forget Models of Missing Files' },
} as const satisfies Record<string, { id: `lstmLens.${string}`; title: string; icon?: `$(${string})` }>;

export type CommandKey = keyof typeof COMMANDS;

/** The context key that is true while a run trains in this window (menus' `when` clauses read it). */
export const TRAINING_CONTEXT = 'lstmLens.training';

interface MenuItem {
  command: CommandKey;
  group?: string;
  when?: string;
}

/** Where each command is offered: the command palette (only when it applies), the editor's context menu and its title bar. */
export const MENUS: Readonly<Record<'commandPalette' | 'editor/context' | 'editor/title', readonly MenuItem[]>> = {
  commandPalette: [
    { command: 'train', when: 'editorIsOpen' },
    { command: 'stop', when: TRAINING_CONTEXT },
    { command: 'generate', when: 'editorIsOpen' },
    { command: 'explainStep', when: 'editorIsOpen' },
    { command: 'findUnits', when: 'editorHasSelection' },
    { command: 'showSurprise', when: 'editorIsOpen' },
    { command: 'showGain', when: 'editorIsOpen' },
    { command: 'whyPrediction', when: 'editorIsOpen' },
    { command: 'exportTraining', when: 'editorIsOpen' },
    { command: 'forget', when: 'editorIsOpen' },
  ],
  'editor/context': [
    { command: 'train', group: 'lstmLens@1' },
    { command: 'generate', group: 'lstmLens@2' },
    { command: 'inspect', group: 'lstmLens@3' },
    { command: 'explainStep', group: 'lstmLens@4' },
    { command: 'whyPrediction', group: 'lstmLens@6' },
    { command: 'showSurprise', group: 'lstmLens@7' },
    { command: 'findUnits', group: 'lstmLens@5', when: 'editorHasSelection' },
  ],
  'editor/title': [
    { command: 'train', group: 'navigation@90', when: `!${TRAINING_CONTEXT}` },
    { command: 'stop', group: 'navigation@90', when: TRAINING_CONTEXT },
  ],
};

/** package.json's contributes.commands. */
export function contributedCommands(): Array<Record<string, string>> {
  return Object.values(COMMANDS).map((c) => ({ command: c.id, title: c.title, category: CATEGORY, ...('icon' in c ? { icon: c.icon } : {}) }));
}

/** package.json's contributes.menus. */
export function contributedMenus(): Record<string, Array<Record<string, string>>> {
  return Object.fromEntries(
    Object.entries(MENUS).map(([menu, items]) => [
      menu,
      items.map((m) => ({ command: COMMANDS[m.command].id, ...(m.group === undefined ? {} : { group: m.group }), ...(m.when === undefined ? {} : { when: m.when }) })),
    ]),
  );
}
