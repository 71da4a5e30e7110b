// A build step: writes package.json's contributes (commands, menus and configuration) from the
// tables in src/extension/commands.ts and src/extension/settings.ts (the one place each is
// defined; a run's settings come from src/engine/trainingOptions.ts). The unit tests fail while
// package.json differs from what this writes. Run: npm run sync:settings
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contributedCommands, contributedMenus } from '../src/extension/commands';
import { contributedConfiguration } from '../src/extension/settings';

const file = join(__dirname, '..', 'package.json');
const manifest = JSON.parse(readFileSync(file, 'utf8'));
manifest.contributes.commands = contributedCommands();
manifest.contributes.menus = contributedMenus();
manifest.contributes.configuration = contributedConfiguration();
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
console.log('package.json: contributes.commands, contributes.menus and contributes.configuration updated');
