#!/usr/bin/env node
// The `baton` command: loads the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../node-app/cli/main.ts');
