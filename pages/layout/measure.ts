/**
 * Where the side-by-side page puts its parts at a given viewport size, measured in a real
 * browser: what the phone layout's test asserts, and what the screenshot script records
 * next to the screenshots so a layout change without new screenshots is caught.
 */
import type { Page } from 'playwright-core';
import { techniques } from '../../server/contract/techniques.js';

/** A box in page coordinates (scroll offset included), px, rounded. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The page's layout at one viewport size. */
export interface Layout {
  viewport: { width: number; height: number };
  /** document.documentElement.scrollWidth: more than the viewport's width is a horizontal scroll. */
  scrollWidth: number;
  /** Elements whose right edge is past the viewport, as `tag.class` (empty on a page that fits). */
  overflowing: string[];
  /** Each technique's panel, by id, in the registry's order, then the auto panel as `auto`. */
  panels: Record<string, Box>;
  /** Each technique's key figures (badge, figure table, timeline), by id: what must be seen first. */
  figures: Record<string, Box>;
  legend: Box;
  /** The composer's message field. */
  field: Box;
}

/** The sizes of the screenshots in docs/img: a laptop and a phone. */
export const SCREENSHOT_SIZES = [
  { name: 'side-by-side-1440', width: 1440, height: 900 },
  { name: 'side-by-side-390', width: 390, height: 844 },
] as const;

/** A panel's key figures: its badge, its figure table and its timeline. */
const KEY_FIGURES = ['[data-role="state"]', '.figures', 'canvas'];

/** The smallest box around all of `boxes`. */
function around(boxes: Box[]): Box {
  const left = Math.min(...boxes.map((b) => b.x));
  const top = Math.min(...boxes.map((b) => b.y));
  const right = Math.max(...boxes.map((b) => b.x + b.width));
  const bottom = Math.max(...boxes.map((b) => b.y + b.height));
  return { x: left, y: top, width: right - left, height: bottom - top };
}

/**
 * Run in the page (as text: this project's Node code knows no DOM, and tsx would name its
 * functions with a helper the page lacks): each selector's box in page coordinates, the
 * elements past the right edge, the viewport and the scroll width.
 */
const MEASURE_IN_PAGE = `(selectors) => {
  const root = document.documentElement;
  const boxes = {};
  for (const [name, selector] of Object.entries(selectors)) {
    const rect = document.querySelector(selector)?.getBoundingClientRect();
    boxes[name] = rect
      ? { x: Math.round(rect.x + scrollX), y: Math.round(rect.y + scrollY), width: Math.round(rect.width), height: Math.round(rect.height) }
      : { x: -1, y: -1, width: 0, height: 0 };
  }
  const overflowing = [...document.querySelectorAll('body *')]
    .filter((element) => { const rect = element.getBoundingClientRect(); return rect.width > 0 && rect.right > root.clientWidth + 0.5; })
    .map((element) => element.tagName.toLowerCase() + '.' + [...element.classList].join('.'));
  return { boxes, overflowing, viewport: { width: innerWidth, height: innerHeight }, scrollWidth: root.scrollWidth };
}`;

/** Measures the page as it is now (its panels built). */
export async function measureLayout(page: Page): Promise<Layout> {
  const ids = techniques.map((technique) => technique.id);
  const selectors: Record<string, string> = {
    legend: 'footer.legend',
    field: '#composer input[name="text"]',
    auto: '[data-role="auto"]',
  };
  for (const id of ids) {
    selectors[`panel ${id}`] = `[data-technique="${id}"]`;
    for (const [index, part] of KEY_FIGURES.entries())
      selectors[`figure ${id} ${index}`] = `[data-technique="${id}"] ${part}`;
  }
  const measured = (await page.evaluate(`(${MEASURE_IN_PAGE})(${JSON.stringify(selectors)})`)) as {
    boxes: Record<string, Box>;
    overflowing: string[];
    viewport: { width: number; height: number };
    scrollWidth: number;
  };
  const { boxes } = measured;
  const panels: Record<string, Box> = {};
  const figures: Record<string, Box> = {};
  for (const id of ids) {
    panels[id] = boxes[`panel ${id}`] as Box;
    figures[id] = around(KEY_FIGURES.map((_, index) => boxes[`figure ${id} ${index}`] as Box));
  }
  panels.auto = boxes.auto as Box;
  return {
    viewport: measured.viewport,
    scrollWidth: measured.scrollWidth,
    overflowing: measured.overflowing,
    panels,
    figures,
    legend: boxes.legend as Box,
    field: boxes.field as Box,
  };
}

/** A PNG's width and height in pixels, from its header (the IHDR chunk, always first). */
export function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const signature = [0x89, 0x50, 0x4e, 0x47];
  if (png.byteLength < 24 || signature.some((byte, index) => png[index] !== byte)) throw new Error('not a PNG');
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
