/**
 * Takes the side-by-side page's screenshots in docs/img (side-by-side-1440.png,
 * side-by-side-390.png) from the real page: the app on port 0, Debian's Chromium, three
 * messages published so the panels show something. Next to them it writes
 * side-by-side.json, the layout each one shows (panel boxes, legend, composer field),
 * which pages/phone-layout.test.ts compares with the page as it is now: a layout change
 * without new screenshots fails there.
 *
 *   node --import tsx pages/screenshots.ts
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../bench/browser/chromium.ts';
import { buildApp } from '../server/app.ts';
import { SCREENSHOT_SIZES, measureLayout, pngSize, type Layout } from './layout/measure.ts';
import { openWithMessages } from './layout/open-page.ts';

/** Where the screenshots and their layouts go. */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../docs/img/', import.meta.url));
/** The layouts the committed screenshots show, by screenshot name. */
export const LAYOUT_FILE = `${SCREENSHOT_DIR}side-by-side.json`;

/** One screenshot's record: its PNG's size in pixels and the layout it shows. */
export interface ScreenshotRecord {
  png: { width: number; height: number };
  layout: Layout;
}

async function main(): Promise<void> {
  const lab = await buildApp({ config: { logLevel: 'silent' } });
  await lab.app.listen({ port: 0, host: '127.0.0.1' });
  const address = lab.app.server.address();
  if (typeof address !== 'object' || address === null) throw new Error('the app has no address');
  const url = `http://127.0.0.1:${address.port}`;
  const browser = await launchChromium();
  const records: Record<string, ScreenshotRecord> = {};
  try {
    for (const size of SCREENSHOT_SIZES) {
      const { context, page } = await openWithMessages(browser, url, size);
      const layout = await measureLayout(page);
      const path = `${SCREENSHOT_DIR}${size.name}.png`;
      const png = pngSize(await page.screenshot({ path, fullPage: true }));
      records[size.name] = { png, layout };
      console.log(`${path}: ${png.width}×${png.height}`);
      await context.close();
    }
  } finally {
    await browser.close();
    await lab.app.close();
  }
  await writeFile(LAYOUT_FILE, `${JSON.stringify(records, null, 2)}\n`);
  console.log(LAYOUT_FILE);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
