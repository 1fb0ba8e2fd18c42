/** A minimal Jupyter client for the kernel tests: starts kernel/launch.js and speaks ZMQ to it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zmq from 'zeromq';
import {
  type ConnectionInfo,
  decode,
  encode,
  type Message,
  makeMessage,
} from '../../kernel/protocol';

const LAUNCH = path.resolve(__dirname, '..', '..', 'kernel', 'launch.js');

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() =>
        typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface Reply {
  reply: Message;
  /** iopub messages whose parent is the request, up to its idle status (status excluded). */
  outputs: Message[];
}

export class TestKernel {
  // linger 0: zeromq's context otherwise blocks process exit while a message to a kernel that has
  // gone sits in a queue, and the test process would never end.
  private readonly shell = new zmq.Dealer({ linger: 0 });
  private readonly iopub = new zmq.Subscriber({ linger: 0 });
  private readonly iopubLog: Message[] = [];
  private readonly waiters: (() => void)[] = [];
  private constructor(
    readonly proc: ChildProcess,
    private readonly conn: ConnectionInfo,
  ) {}

  /**
   * Starts a kernel with `cwd` as its notebook directory, and `env` over this process's
   * environment, and waits until it answers.
   */
  static async start(cwd: string, env: NodeJS.ProcessEnv = {}): Promise<TestKernel> {
    // A kernel that has not answered in 120 s is replaced once, loudly: CI has seen a first start
    // in a fresh clone never answer (cause not found), while a second start answers in seconds.
    try {
      return await TestKernel.startOnce(cwd, env, 120_000);
    } catch (err) {
      console.error(`⚠ TestKernel: ${(err as Error).message}; starting a second kernel`);
      return TestKernel.startOnce(cwd, env, 240_000);
    }
  }

  private static async startOnce(
    cwd: string,
    env: NodeJS.ProcessEnv,
    answerMs: number,
  ): Promise<TestKernel> {
    const [shell, control, stdin, iopub, hb] = await Promise.all([1, 2, 3, 4, 5].map(freePort));
    const conn: ConnectionInfo = {
      ip: '127.0.0.1',
      transport: 'tcp',
      signature_scheme: 'hmac-sha256',
      key: randomBytes(16).toString('hex'),
      shell_port: shell as number,
      control_port: control as number,
      stdin_port: stdin as number,
      iopub_port: iopub as number,
      hb_port: hb as number,
    };
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'pitlab-kernel-')), 'conn.json');
    writeFileSync(file, JSON.stringify(conn));
    const proc = spawn(process.execPath, [LAUNCH, file], {
      cwd,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const k = new TestKernel(proc, conn);
    k.shell.connect(`tcp://127.0.0.1:${conn.shell_port}`);
    k.iopub.connect(`tcp://127.0.0.1:${conn.iopub_port}`);
    k.iopub.subscribe();
    void k.readIopub();
    const exited = new Promise<never>((_, reject) =>
      proc.once('exit', (code, signal) =>
        reject(new Error(`kernel exited (${code ?? signal}) before answering kernel_info`)),
      ),
    );
    exited.catch(() => {}); // a normal exit at close() is not an error
    try {
      // Generous: the first start in a fresh clone transpiles pitlab's sources with a cold cache.
      await Promise.race([k.request('kernel_info_request', {}, answerMs), exited]);
    } catch (err) {
      proc.kill('SIGKILL'); // a kernel that never answered must not outlive the test run
      k.shell.close();
      k.iopub.close();
      throw err;
    }
    return k;
  }

  private async readIopub(): Promise<void> {
    try {
      for await (const frames of this.iopub) {
        this.iopubLog.push(decode(frames, this.conn.key, this.conn.signature_scheme));
        for (const w of this.waiters.splice(0)) w();
      }
    } catch {
      // closed
    }
  }

  /** Sends a shell request and collects its reply and outputs. */
  async request(
    type: string,
    content: Record<string, unknown>,
    timeoutMs = 30_000,
    metadata: Record<string, unknown> = {},
  ): Promise<Reply> {
    const msg = makeMessage(undefined, type, content, metadata);
    const deadline = Date.now() + timeoutMs;
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(
        () => reject(new Error(`${type}: no reply in ${timeoutMs} ms`)),
        timeoutMs,
      ).unref(),
    );
    // The send is raced too: to a kernel that has gone, it could wait forever.
    await Promise.race([
      this.shell.send(encode(msg, this.conn.key, this.conn.signature_scheme)),
      timeout,
    ]);
    const frames = await Promise.race([this.shell.receive(), timeout]);
    const reply = decode(frames, this.conn.key, this.conn.signature_scheme);
    const mine = (m: Message) =>
      (m.parent_header as { msg_id?: string }).msg_id === msg.header.msg_id;
    const idle = (m: Message) =>
      mine(m) && m.header.msg_type === 'status' && m.content.execution_state === 'idle';
    while (!this.iopubLog.some(idle)) {
      if (Date.now() > deadline) throw new Error(`${type}: no idle status in ${timeoutMs} ms`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200).unref();
      });
    }
    return {
      reply,
      outputs: this.iopubLog.filter((m) => mine(m) && m.header.msg_type !== 'status'),
    };
  }

  execute(code: string, timeoutMs?: number): Promise<Reply> {
    return this.request('execute_request', { code, silent: false, store_history: true }, timeoutMs);
  }

  /**
   * Executes `code` as JupyterLab and Notebook 7 do for a notebook cell: the cell's id in the
   * request's `metadata.cellId`, ids of cells deleted since the last request in
   * `metadata.deletedCells`.
   */
  executeCell(
    cellId: string,
    code: string,
    options: { deletedCells?: string[]; timeoutMs?: number } = {},
  ): Promise<Reply> {
    const metadata: Record<string, unknown> = { cellId };
    if (options.deletedCells) metadata.deletedCells = options.deletedCells;
    const content = { code, silent: false, store_history: true };
    return this.request('execute_request', content, options.timeoutMs, metadata);
  }

  /** iopub messages answering the execute whose reply is `r`, as received so far. */
  outputsOf(r: Reply): Message[] {
    const id = (r.reply.parent_header as { msg_id?: string }).msg_id;
    return this.iopubLog.filter(
      (m) =>
        (m.parent_header as { msg_id?: string }).msg_id === id && m.header.msg_type !== 'status',
    );
  }

  async close(): Promise<void> {
    await this.request('shutdown_request', { restart: false }).catch(() => undefined);
    await new Promise((r) => {
      if (this.proc.exitCode !== null) r(null);
      else {
        this.proc.once('exit', r);
        setTimeout(() => this.proc.kill('SIGKILL'), 5000).unref();
      }
    });
    this.shell.close();
    this.iopub.close();
  }
}

/** The text of a stream message list. */
export function streamText(msgs: Message[], name = 'stdout'): string {
  return msgs
    .filter((m) => m.header.msg_type === 'stream' && m.content.name === name)
    .map((m) => String(m.content.text))
    .join('');
}

/** `text/plain` of the first message of `type` (execute_result, display_data, ...). */
export function plainOf(msgs: Message[], type: string): unknown {
  const m = msgs.find((x) => x.header.msg_type === type);
  return m ? (m.content.data as Record<string, unknown>)['text/plain'] : undefined;
}
