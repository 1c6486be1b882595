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
  // Anonymous functions only in the browser: tsx names the named ones with a helper the page lacks.
  const measured = await page.evaluate((selectors) => {
    const root = document.documentElement;
    const boxes: Record<string, Box> = {};
    for (const [name, selector] of Object.entries(selectors)) {
      const rect = document.querySelector(selector)?.getBoundingClientRect();
      boxes[name] = rect
        ? {
            x: Math.round(rect.x + scrollX),
            y: Math.round(rect.y + scrollY),
            width: Math.round(rect.width),
            height: Math.round(rect.height),
          }
        : { x: -1, y: -1, width: 0, height: 0 };
    }
    const overflowing = [...document.querySelectorAll('body *')]
      .filter((element) => {
        const rect = element.getBoundingClientRect();
        return rect.width > 0 && rect.right > root.clientWidth + 0.5;
      })
      .map((element) => `${element.tagName.toLowerCase()}.${[...element.classList].join('.')}`);
    return { boxes, overflowing, viewport: { width: innerWidth, height: innerHeight }, scrollWidth: root.scrollWidth };
  }, selectors);
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
