/** In-memory execution history answering `history_request` (tail, range, search). */

export interface HistoryEntry {
  line: number;
  input: string;
  /** `text/plain` of the execute_result, if any. */
  output?: string;
}

export interface HistoryRequest {
  output?: boolean;
  hist_access_type: 'tail' | 'range' | 'search';
  session?: number;
  start?: number;
  stop?: number;
  n?: number;
  pattern?: string;
  unique?: boolean;
}

/** `[session, line, input]`, or `[session, line, [input, output]]` when output was asked for. */
export type HistoryTuple = [number, number, string | [string, string | null]];

/** This kernel's session number; 0 in a request also means "this session" (IPython's rule). */
export const SESSION = 1;

/** Glob as in IPython's history search: `*` any run, `?` one character, anchored. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

export class History {
  private readonly entries: HistoryEntry[] = [];

  add(entry: HistoryEntry): void {
    this.entries.push(entry);
  }

  query(req: HistoryRequest): HistoryTuple[] {
    let picked: HistoryEntry[];
    switch (req.hist_access_type) {
      case 'tail':
        picked = this.entries.slice(-Math.max(0, req.n ?? 10));
        break;
      case 'range': {
        if (req.session !== undefined && req.session !== 0 && req.session !== SESSION) return [];
        const start = req.start ?? 0;
        const stop = req.stop ?? Number.POSITIVE_INFINITY;
        picked = this.entries.filter((e) => e.line >= start && e.line < stop);
        break;
      }
      case 'search': {
        const re = globToRegExp(req.pattern ?? '*');
        let hits = this.entries.filter((e) => re.test(e.input));
        if (req.unique) {
          // Keep the latest occurrence of each input.
          const seen = new Set<string>();
          hits = hits
            .reverse()
            .filter((e) => !seen.has(e.input) && seen.add(e.input))
            .reverse();
        }
        picked = req.n ? hits.slice(-req.n) : hits;
        break;
      }
      default:
        return [];
    }
    return picked.map((e) => [SESSION, e.line, req.output ? [e.input, e.output ?? null] : e.input]);
  }
}
