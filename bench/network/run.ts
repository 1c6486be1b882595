/**
 * The shapers of one bench run: one in front of each server node, so that every
 * subscriber's connection crosses the configured network on its way in and out.
 */
import { type NetworkConditions, ShapingProxy } from './shaper.ts';

export interface Shapers {
  /** The nodes' addresses as the subscribers reach them, in the nodes' order. */
  urls: string[];
  close(): Promise<void>;
}

/** Starts a shaper in front of each of `nodeUrls`; `seed` makes the run's jitter and loss repeatable. */
export async function shapeAll(nodeUrls: string[], conditions: NetworkConditions, seed: number): Promise<Shapers> {
  const proxies: ShapingProxy[] = [];
  try {
    for (const [i, url] of nodeUrls.entries()) {
      const { hostname, port } = new URL(url);
      proxies.push(
        await ShapingProxy.start({
          target: { host: hostname, port: Number(port || 80) },
          conditions,
          seed: seed * 100 + i,
        }),
      );
    }
  } catch (error) {
    await Promise.all(proxies.map((proxy) => proxy.close()));
    throw error;
  }
  return {
    urls: proxies.map((proxy) => proxy.url),
    close: async () => {
      await Promise.all(proxies.map((proxy) => proxy.close()));
    },
  };
}
