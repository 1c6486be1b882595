/**
 * `npm start -- --network PROFILE` (or `NETWORK=PROFILE`): the pages and the API served
 * through the bench's shaping proxy, so that a class watches polling fall behind as the
 * round trip grows. The app listens on an internal loopback port; the shaper takes the
 * address and port the app would have had, and every connection to it crosses the
 * profile's network (bench/network/profiles.ts) both ways.
 */
import { describeConditions, networkProfile, networkProfileNames } from '../bench/network/profiles.ts';
import { type NetworkConditions, ShapingProxy } from '../bench/network/shaper.ts';

export interface ShapedNetwork {
  name: string;
  conditions: NetworkConditions;
}

/** The profile named, null for none (unset or empty); an unknown name throws, listing the known ones. */
export function shapedNetworkOf(name: string | undefined): ShapedNetwork | null {
  if (name === undefined || name === '' || name === 'none') return null;
  const profile = networkProfile(name);
  if (!profile)
    throw new RangeError(`unknown network profile ${JSON.stringify(name)}; known: ${networkProfileNames.join(', ')}`);
  const { summary: _summary, ...conditions } = profile;
  return { name, conditions };
}

/** Starts the shaper on `listen` in front of the app on 127.0.0.1:`appPort`. */
export async function shapeInFront(
  network: ShapedNetwork,
  appPort: number,
  listen: { host: string; port: number },
): Promise<ShapingProxy> {
  return ShapingProxy.start({
    target: { host: '127.0.0.1', port: appPort },
    conditions: network.conditions,
    host: listen.host,
    port: listen.port,
  });
}

/** What the start-up message says about the network. */
export function describeShapedNetwork(network: ShapedNetwork, appPort: number): string {
  return `network ${network.name} (${describeConditions(network.conditions)}) between every client and the app, through a shaping proxy; the app itself, unshaped, on http://127.0.0.1:${appPort}/`;
}
