// Writes package.json's contributes.configuration from the settings table in
// src/extension/settings.ts (the one place settings are defined). Run: npm run sync:settings
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { contributedConfiguration } from '../../src/extension/settings';

const file = join(__dirname, '..', '..', 'package.json');
const manifest = JSON.parse(readFileSync(file, 'utf8'));
manifest.contributes.configuration = contributedConfiguration();
writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
console.log('package.json: contributes.configuration updated');
