/**
 * Maps Jupyter requests to replies and iopub messages; knows nothing of sockets.
 *
 * Responsibilities (each fixes a tslab gap, see shared research notes §2):
 * - the cell's last value as a real `execute_result`, always with `text/plain`;
 * - type and runtime errors as an iopub `error` plus an error `execute_reply` with
 *   ename/evalue/traceback;
 * - `history_request`, a `comm_info_reply` of the right type, complete `language_info`;
 * - `interrupt_request` always answered; a note when a cell leaves new tensors alive;
 * - the dataflow layer around each execution (kernel/dataflow/): graph, notes, reply metadata.
 */

import { type DataflowMeta, DataflowRunner } from './dataflow/runner';
import type { Publish } from './dataflow/slots';
import { toMimeBundle } from './display/bundle';
import type { PlotlySession } from './display/plotly';
import type { CellExecutor } from './executor';
import { History, type HistoryRequest } from './history';
import { type OutputSink, runInCell } from './output';
import {
  type Channel,
  type Message,
  type MimeBundle,
  makeMessage,
  PROTOCOL_VERSION,
} from './protocol';

export interface Transport {
  send(channel: Channel, msg: Message<unknown>): Promise<void> | void;
}

export interface TensorMemory {
  numTensors: number;
  numBytes: number;
}

export interface HandlerOptions {
  /** May be a promise: the kernel answers kernel_info before its compiler has loaded. */
  executor: CellExecutor | Promise<CellExecutor>;
  transport: Transport;
  plotly: PlotlySession;
  /** Versions for kernel_info. */
  versions: { kernel: string; typescript: string; node: string };
  /** Extra banner lines (e.g. what the tensor runtime runs on). */
  banner?: () => string;
  /** Awaited before the first cell runs (the shared tensor runtime's initialisation). */
  beforeFirstCell?: () => Promise<void>;
  /** tfjs memory, for the note about tensors a cell leaves alive; absent = no note. */
  memory?: () => TensorMemory | undefined;
  /** Called after a shutdown_reply went out. */
  onShutdown?: (restart: boolean) => void;
}

interface ExecuteRequest {
  code: string;
  silent?: boolean;
  store_history?: boolean;
}

export class JupyterHandler {
  private executionCount = 0;
  private readonly history = new History();
  private ready: Promise<void> | undefined;

  /** The dependency graph and its runner; the `dataflow` global drives it (kernel/main.ts). */
  readonly dataflow: DataflowRunner;

  constructor(private readonly opts: HandlerOptions) {
    this.dataflow = new DataflowRunner({
      run: async (code, sink) => {
        const ex = await this.opts.executor;
        return runInCell(sink, () => ex.execute(code));
      },
      bundle: (value, sink) => runInCell(sink, () => toMimeBundle(value, this.opts.plotly)),
    });
  }

  private publish(parent: Message<unknown> | undefined, type: string, content: unknown): void {
    void this.opts.transport.send('iopub', makeMessage(parent, type, content));
  }

  private reply(
    channel: Channel,
    req: Message<unknown>,
    type: string,
    content: unknown,
    dataflow?: DataflowMeta,
  ): void {
    // execute_reply's message metadata carries the dataflow state (ipykernel puts `started`,
    // `dependencies_met` there): a quiet channel a frontend extension can read.
    const metadata = dataflow ? { dataflow } : {};
    void this.opts.transport.send(channel, makeMessage(req, type, content, metadata));
  }

  /** Sent once at startup so clients see the kernel before their first request. */
  starting(): void {
    this.publish(undefined, 'status', { execution_state: 'starting' });
  }

  async handle(channel: 'shell' | 'control', msg: Message): Promise<void> {
    const type = msg.header.msg_type;
    this.publish(msg, 'status', { execution_state: 'busy' });
    try {
      await this.dispatch(channel, type, msg);
    } finally {
      this.publish(msg, 'status', { execution_state: 'idle' });
    }
  }

  private async dispatch(channel: 'shell' | 'control', type: string, msg: Message): Promise<void> {
    const c = msg.content as Record<string, unknown>;
    switch (type) {
      case 'kernel_info_request':
        return this.reply(channel, msg, 'kernel_info_reply', this.kernelInfo());
      case 'execute_request':
        return this.execute(channel, msg as Message<unknown> as Message<ExecuteRequest>);
      case 'complete_request': {
        const ex = await this.opts.executor;
        const r = ex.complete(String(c.code), Number(c.cursor_pos));
        return this.reply(channel, msg, 'complete_reply', {
          status: 'ok',
          matches: r.matches,
          cursor_start: r.cursorStart,
          cursor_end: r.cursorEnd,
          metadata: {},
        });
      }
      case 'inspect_request': {
        const ex = await this.opts.executor;
        const text = ex.inspect(String(c.code), Number(c.cursor_pos));
        return this.reply(channel, msg, 'inspect_reply', {
          status: 'ok',
          found: text !== undefined,
          data: text === undefined ? {} : { 'text/plain': text },
          metadata: {},
        });
      }
      case 'is_complete_request': {
        const ex = await this.opts.executor;
        const r = ex.isComplete(String(c.code));
        return this.reply(
          channel,
          msg,
          'is_complete_reply',
          r.status === 'incomplete' ? r : { status: r.status },
        );
      }
      case 'history_request':
        return this.reply(channel, msg, 'history_reply', {
          status: 'ok',
          history: this.history.query(c as unknown as HistoryRequest),
        });
      case 'comm_info_request':
        // tslab answered this with msg_type "complete_reply"; no comms are registered yet.
        return this.reply(channel, msg, 'comm_info_reply', { status: 'ok', comms: {} });
      case 'interrupt_request':
        // Answered at once, even while the compiler is still loading.
        void Promise.resolve(this.opts.executor).then((ex) => ex.interrupt());
        return this.reply(channel, msg, 'interrupt_reply', { status: 'ok' });
      case 'shutdown_request': {
        const restart = Boolean(c.restart);
        this.reply(channel, msg, 'shutdown_reply', { status: 'ok', restart });
        this.opts.onShutdown?.(restart);
        return;
      }
      case 'comm_open':
      case 'comm_msg':
      case 'comm_close':
        return; // no comm targets: the protocol says to ignore messages for unknown comms
      default:
        // Unknown requests get no reply (as ipykernel does); clients time out on their side.
        return;
    }
  }

  kernelInfo(): Record<string, unknown> {
    const v = this.opts.versions;
    return {
      status: 'ok',
      protocol_version: PROTOCOL_VERSION,
      implementation: 'pitlab',
      implementation_version: v.kernel,
      language_info: {
        name: 'typescript',
        version: v.typescript,
        mimetype: 'text/typescript',
        file_extension: '.ts',
        pygments_lexer: 'typescript',
        codemirror_mode: { name: 'javascript', typescript: true },
        nbconvert_exporter: 'script',
      },
      banner: [
        `pitlab ${v.kernel}: TypeScript ${v.typescript} on Node.js ${v.node}`,
        this.opts.banner?.(),
      ]
        .filter(Boolean)
        .join('\n'),
      help_links: [],
      debugger: false,
    };
  }

  /** Output as stream, display_data and update_display_data messages in reply to `msg`. */
  private plainSink(msg: Message<unknown>): OutputSink {
    return {
      stream: (name, text) => this.publish(msg, 'stream', { name, text }),
      display: (data, id, update) =>
        this.publish(msg, update ? 'update_display_data' : 'display_data', {
          data,
          metadata: {},
          transient: id ? { display_id: id } : {},
        }),
    };
  }

  private async execute(channel: Channel, msg: Message<ExecuteRequest>): Promise<void> {
    const { code, silent = false } = msg.content;
    const store = !silent && (msg.content.store_history ?? true);
    if (store) this.executionCount += 1;
    const count = this.executionCount;
    if (!silent) this.publish(msg, 'execute_input', { code, execution_count: count });

    const flow = this.dataflow.begin(msg.metadata ?? {}, code, count, silent);
    const publishDisplay: Publish = (type, content) => this.publish(msg, type, content);
    if (flow.cycle) {
      const { meta, error } = this.dataflow.refuse(flow);
      this.publish(msg, 'error', error);
      const content = { status: 'error', execution_count: count, ...error };
      this.reply(channel, msg, 'execute_reply', content, meta);
      if (store) this.history.add({ line: count, input: code });
      return;
    }
    // A tracked cell with an id shows every output in slots a later re-run can update in place;
    // any other execution keeps stream and execute_result (what jupyter_kernel_test checks).
    const slots = this.dataflow.sinkFor(flow, publishDisplay);
    const sink = slots ?? this.plainSink(msg);
    const executor = await this.opts.executor;
    this.ready ??= this.opts.beforeFirstCell?.() ?? Promise.resolve();
    await this.ready;
    const before = this.opts.memory?.();
    const outcome = await runInCell(sink, () => executor.execute(code));

    let output: string | undefined;
    if (outcome.status === 'ok' && outcome.hasValue && !silent) {
      const data = runInCell(sink, () => toMimeBundle(outcome.value, this.opts.plotly));
      output = String(data['text/plain']);
      if (slots) slots.result(data);
      else this.publish(msg, 'execute_result', { execution_count: count, data, metadata: {} });
    }
    slots?.finish();
    if (outcome.status === 'ok') {
      const note = tensorNote(before, this.opts.memory?.());
      if (note && !silent)
        this.publish(msg, 'display_data', { data: note, metadata: {}, transient: {} });
    } else {
      const { ename, evalue, traceback } = outcome;
      this.publish(msg, 'error', { ename, evalue, traceback });
    }
    const { meta, notes } = await this.dataflow.end(flow, outcome, publishDisplay);
    if (!silent)
      for (const data of notes)
        this.publish(msg, 'display_data', { data, metadata: {}, transient: {} });
    const content =
      outcome.status === 'ok'
        ? { status: 'ok', execution_count: count, payload: [], user_expressions: {} }
        : { status: 'error', execution_count: count, ...pick(outcome) };
    this.reply(channel, msg, 'execute_reply', content, meta);
    if (store) this.history.add({ line: count, input: code, output });
  }
}

function pick(o: { ename: string; evalue: string; traceback: string[] }) {
  return { ename: o.ename, evalue: o.evalue, traceback: o.traceback };
}

/** The note shown under a cell that leaves more tensors alive than before it ran. */
export function tensorNote(before?: TensorMemory, after?: TensorMemory): MimeBundle | undefined {
  if (!before || !after || after.numTensors <= before.numTensors) return undefined;
  const n = after.numTensors - before.numTensors;
  const bytes = after.numBytes - before.numBytes;
  const text = `note: this cell left ${n} new tensor${n === 1 ? '' : 's'} alive (${formatBytes(bytes)}); dispose them or use tf.tidy`;
  return {
    'text/plain': text,
    'text/html': `<div style="color:#8a6d3b;font-size:smaller">${text}</div>`,
  };
}

export function formatBytes(n: number): string {
  if (Math.abs(n) < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n;
  let u = -1;
  while (Math.abs(v) >= 1024 && u < units.length - 1) {
    v /= 1024;
    u += 1;
  }
  return `${v.toFixed(1)} ${units[u]}`;
}
