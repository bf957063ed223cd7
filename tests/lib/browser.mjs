// Debian's chromium driven by npm playwright-core, as every browser test launches it: exactly
// the project's flags (Playwright's own switches left out), a fresh profile per run, and the
// folder screenshots go to (the CMake registration names one in the build tree; run by hand,
// next to the binary).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { BIN } from './tessera.mjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SHOTS = process.env.TESSERA_SCREENSHOTS || join(dirname(BIN), 'screenshots');

// The browser, and close() that also removes its profile. Never skipped: a machine without the
// browser fails here (scripts/bootstrap.sh installs it).
export async function launchChromium(prefix) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  mkdirSync(SHOTS, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), prefix));
  // The pipe and no-startup-window are how Playwright talks to the browser.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${profileDir}`, '--remote-debugging-pipe',
      '--no-startup-window'],
    timeout: 60000,
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}
