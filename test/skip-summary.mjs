// Node 20 loads a --test-reporter module before the --import hooks apply, so tsx cannot
// load the reporter's .ts by itself: this loads it through tsx's API instead.
import { tsImport } from 'tsx/esm/api';

const { default: skipSummary } = await tsImport('./skip-summary.ts', import.meta.url);
export default skipSummary;
