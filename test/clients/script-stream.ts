/**
 * The test client of the `script-stream` wire format: reads the never-ending HTML as a
 * browser would, as it arrives, and runs each <script> in a `vm` context whose `parent`
 * has the two functions a real parent page defines (named by SCRIPT_CALLBACKS). Running
 * the scripts, rather than parsing their arguments, tests what a browser would do with them.
 */
import vm from 'node:vm';
import { SCRIPT_CALLBACKS } from '../../server/contract/formats/script-stream.js';
import type { ControlEvent, Message } from '../../server/contract/feed.js';
import type { Technique } from '../../server/contract/techniques.js';
import { type ClientOptions, type FeedClient, clientState, endpoint } from './client.ts';
import { labFetch } from '../tls-fetch.ts';

/** Opens the document of `technique`; resolves once its headers have arrived. */
export async function scriptStreamClient(
  technique: Technique,
  url: string,
  options: ClientOptions,
): Promise<FeedClient> {
  const client = clientState(technique, options);
  const abort = new AbortController();
  const response = await labFetch(endpoint(url, technique, options), { signal: abort.signal });
  if (response.status !== 200 || !response.body) throw new Error(`${technique.id} answered ${response.status}`);
  // Objects made inside the vm have the vm's prototypes: copy them into this realm.
  const parentPage = {
    [SCRIPT_CALLBACKS.message]: (message: Message) => client.take(structuredClone(message)),
    [SCRIPT_CALLBACKS.event]: (event: ControlEvent) => client.control(structuredClone(event)),
  };
  const sandbox = vm.createContext({ parent: parentPage });
  const done = (async () => {
    const decoder = new TextDecoder();
    let html = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        html += decoder.decode(chunk, { stream: true });
        for (const code of scriptsIn(html)) vm.runInContext(code, sandbox);
        html = html.slice(lastScriptEnd(html));
      }
    } catch (error) {
      if (!abort.signal.aborted) throw error;
    }
  })();
  return {
    ...client,
    reconnects: false,
    close: async () => {
      abort.abort();
      await done.catch(() => undefined);
    },
  };
}

const SCRIPT = /<script>([\s\S]*?)<\/script>/g;

/** The code of each complete <script> element in `html`. */
function scriptsIn(html: string): string[] {
  return [...html.matchAll(SCRIPT)].map((match) => match[1] ?? '');
}

function lastScriptEnd(html: string): number {
  const index = html.lastIndexOf('</script>');
  return index === -1 ? 0 : index + '</script>'.length;
}
