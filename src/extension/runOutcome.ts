// How a run's end is told: finished or stopped (with what to do next), diverged (the remedy in
// VS Code's terms, one button to set it), failed or crashed (with whether a checkpoint is kept).

import * as vscode from 'vscode';
import type { DivergenceData } from '../protocol/worker';
import type { RunState } from './activeRun';
import { COMMANDS } from './commands';
import type { Host } from './host';
import { divergenceRemedy, messageText } from './names';
import { endedText, failureText } from './runText';
import { SECTION } from './settings';
import type { JobOutcome } from './workerJob';

export function reportOutcome(host: Host, run: RunState, outcome: JobOutcome): void {
  if (outcome.kind === 'finished' && outcome.message.type === 'finished') {
    const { log, notification } = endedText(run.name, outcome.message);
    host.output.info(log);
    void vscode.window.showInformationMessage(notification, 'Generate Text at Cursor', 'Inspect States').then((choice) => {
      if (choice === 'Generate Text at Cursor') void vscode.commands.executeCommand(COMMANDS.generate.id);
      if (choice === 'Inspect States') void vscode.commands.executeCommand(COMMANDS.inspect.id);
    });
    return;
  }
  if (outcome.kind === 'failed' && outcome.reason === 'diverged') {
    reportDivergence(host, run, outcome.message, outcome.divergence);
    return;
  }
  const message = failureText(outcome, host.store.has(run.documentUri));
  host.output.error(`${run.name}: ${message}`);
  void vscode.window.showErrorMessage(`LSTM Lens: ${run.name}: ${message}`, 'Show Log').then((choice) => {
    if (choice) host.output.show();
  });
}

/**
 * A run that diverged: what happened and which step's weights were kept (the engine's words), and
 * the remedy in VS Code's terms: lstmLens.learningRate at the suggested value, then Continue
 * (the setting applies to a continued run). One button sets it.
 */
function reportDivergence(host: Host, run: RunState, what: string, d: DivergenceData | undefined): void {
  const { output } = host;
  const facts = messageText(what);
  if (!d) {
    output.error(`${run.name}: training diverged: ${facts}`);
    void vscode.window.showErrorMessage(`LSTM Lens: training on ${run.name} diverged: ${facts}. Lower lstmLens.learningRate, then train again.`, 'Open Settings').then((choice) => {
      if (choice) void vscode.commands.executeCommand('workbench.action.openSettings', `${SECTION}.learningRate`);
    });
    return;
  }
  const { learningRate: lr, text: remedy } = divergenceRemedy(d);
  output.error(`${run.name}: training diverged: ${facts}. ${remedy}`);
  const setIt = `Set Learning Rate to ${lr}`;
  void vscode.window.showErrorMessage(`LSTM Lens: training on ${run.name} diverged: ${facts}. ${remedy}`, setIt, 'Show Log').then(async (choice) => {
    if (choice === 'Show Log') output.show();
    if (choice !== setIt) return;
    // Where the setting is defined now (a folder, the workspace, or the user's settings) is where it changes.
    const config = vscode.workspace.getConfiguration(SECTION);
    const where = config.inspect('learningRate');
    const target = where?.workspaceFolderValue !== undefined ? vscode.ConfigurationTarget.WorkspaceFolder : where?.workspaceValue !== undefined ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    try {
      await config.update('learningRate', lr, target);
    } catch (e) {
      void vscode.window.showErrorMessage(`LSTM Lens: lstmLens.learningRate could not be set: ${messageText((e as Error).message)}`);
      return;
    }
    output.info(`lstmLens.learningRate set to ${lr}`);
    const again = await vscode.window.showInformationMessage(`LSTM Lens: lstmLens.learningRate is now ${lr}. Train ${run.name} again and choose Continue training to go on from step ${d.keptStep}.`, 'Train LSTM on This File');
    if (again) void vscode.commands.executeCommand(COMMANDS.train.id);
  });
}
