/**
 * Output slots of a tracked cell. Every output such a cell makes (stdout and stderr text, each
 * display, its last value) is `display_data` with a display id derived from the cell id and the
 * output's position: `dataflow-<cell>-<k>`. When the runner re-runs the cell, output k becomes
 * `update_display_data` for that id, which JupyterLab, Notebook 7, classic Notebook and VS Code
 * route to the cell showing it: the new outputs replace the old ones in place, no extension.
 */
import type { OutputSink } from '../output';
import type { MimeBundle } from '../protocol';

export interface DisplayContent {
  data: MimeBundle;
  metadata: Record<string, unknown>;
  transient: { display_id?: string };
}

/** Sends one iopub display message in reply to the request being served. */
export type Publish = (type: 'display_data' | 'update_display_data', c: DisplayContent) => void;

/** Per cell, across runs: how many slots its output area shows. */
export interface SlotState {
  count: number;
}

export const slotId = (cell: string, k: number) => `dataflow-${cell}-${k}`;

/** Stream text is sent at most this often (each update carries the whole text so far). */
const STREAM_FLUSH_MS = 50;

export class SlotSink implements OutputSink {
  private next = 0;
  private readonly shown = new Set<number>();
  /** Slots the cell's output area already has: a re-run updates them. */
  private readonly existing: number;
  private streaming?: { name: string; slot: number; text: string; dirty: boolean };
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly cell: string,
    private readonly state: SlotState,
    private readonly publish: Publish,
    /** A re-run by the runner (updates in place) rather than a run the frontend started. */
    rerun: boolean,
    /** User display ids → slot display ids, kernel-wide, so `update: true` finds the slot. */
    private readonly aliases: Map<string, string>,
  ) {
    this.existing = rerun ? state.count : 0;
    if (!rerun) state.count = 0; // the frontend cleared the cell's outputs
  }

  private allocate(): number {
    const k = this.next++;
    this.state.count = Math.max(this.state.count, k + 1);
    return k;
  }

  private emit(k: number, data: MimeBundle): void {
    const update = this.shown.has(k) || k < this.existing;
    this.shown.add(k);
    const transient = { display_id: slotId(this.cell, k) };
    this.publish(update ? 'update_display_data' : 'display_data', {
      data,
      metadata: {},
      transient,
    });
  }

  stream(name: 'stdout' | 'stderr', text: string): void {
    const s = this.streaming;
    if (s && s.name === name) {
      s.text += text;
      s.dirty = true;
    } else {
      this.endStream();
      this.streaming = { name, slot: this.allocate(), text, dirty: true };
    }
    this.timer ??= setTimeout(() => this.flush(), STREAM_FLUSH_MS).unref();
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const s = this.streaming;
    if (s?.dirty) {
      s.dirty = false;
      this.emit(s.slot, { 'text/plain': s.text });
    }
  }

  private endStream(): void {
    this.flush();
    this.streaming = undefined;
  }

  display(bundle: MimeBundle, id: string | undefined, update: boolean): void {
    if (update) {
      // An update never takes a slot: it replaces what `id` (or the slot it names) shows.
      const target = (id && this.aliases.get(id)) ?? id;
      const transient = target ? { display_id: target } : {};
      this.publish('update_display_data', { data: bundle, metadata: {}, transient });
      return;
    }
    this.endStream();
    const k = this.allocate();
    if (id) this.aliases.set(id, slotId(this.cell, k));
    this.emit(k, bundle);
  }

  /** The cell's last value. */
  result(bundle: MimeBundle): void {
    this.display(bundle, undefined, false);
  }

  /** Ends the run: sends pending text and, after a re-run, blanks slots it no longer fills. */
  finish(): void {
    this.endStream();
    for (let k = this.next; k < this.existing; k++) this.emit(k, { 'text/plain': '' });
  }
}
