/**
 * The ZMQ transport: binds the five Jupyter sockets, verifies and signs messages, answers
 * heartbeats, and hands decoded requests to a handler. It knows nothing of what the requests mean.
 */
import * as zmq from 'zeromq';
import { type Channel, type ConnectionInfo, decode, encode, type Message } from './protocol';

export type RequestHandler = (channel: 'shell' | 'control', msg: Message) => Promise<void>;

/** Sends one message at a time per socket: zeromq 6 rejects a send while another is pending. */
class SendQueue {
  private tail: Promise<void> = Promise.resolve();
  constructor(private readonly socket: zmq.Writable) {}
  push(frames: Buffer[]): Promise<void> {
    this.tail = this.tail.then(() => this.socket.send(frames)).catch(() => undefined);
    return this.tail;
  }
}

export class ZmqServer {
  private readonly shell = new zmq.Router();
  private readonly control = new zmq.Router();
  private readonly stdin = new zmq.Router();
  private readonly iopub = new zmq.Publisher();
  private readonly hb = new zmq.Reply();
  private readonly queues: Record<Channel, SendQueue>;

  constructor(
    private readonly conn: ConnectionInfo,
    /** Logs protocol problems somewhere other than the captured stdout/stderr. */
    private readonly log: (line: string) => void,
  ) {
    this.queues = {
      shell: new SendQueue(this.shell),
      control: new SendQueue(this.control),
      stdin: new SendQueue(this.stdin),
      iopub: new SendQueue(this.iopub),
    };
  }

  private address(port: number): string {
    const { transport, ip } = this.conn;
    return transport === 'ipc' ? `ipc://${ip}-${port}` : `tcp://${ip}:${port}`;
  }

  /** Binds every socket, then serves `handler` until `close()`. */
  async start(handler: RequestHandler): Promise<void> {
    const c = this.conn;
    await Promise.all([
      this.shell.bind(this.address(c.shell_port)),
      this.control.bind(this.address(c.control_port)),
      this.stdin.bind(this.address(c.stdin_port)),
      this.iopub.bind(this.address(c.iopub_port)),
      this.hb.bind(this.address(c.hb_port)),
    ]);
    void this.serveHeartbeat();
    // Shell requests run one after another (an execute must finish before the next starts);
    // control requests are served as they come so shutdown and interrupt are never queued.
    void this.serve(this.shell, 'shell', handler, true);
    void this.serve(this.control, 'control', handler, false);
  }

  private async serveHeartbeat(): Promise<void> {
    try {
      for await (const frames of this.hb) await this.hb.send(frames);
    } catch {
      // socket closed
    }
  }

  private async serve(
    socket: zmq.Router,
    channel: 'shell' | 'control',
    handler: RequestHandler,
    serial: boolean,
  ): Promise<void> {
    let chain: Promise<void> = Promise.resolve();
    try {
      for await (const frames of socket) {
        let msg: Message;
        try {
          msg = decode(frames, this.conn.key, this.conn.signature_scheme);
        } catch (e) {
          this.log(`pitlab kernel: dropped a ${channel} message: ${(e as Error).message}`);
          continue;
        }
        const run = () =>
          handler(channel, msg).catch((e: unknown) => {
            this.log(`pitlab kernel: ${msg.header.msg_type} failed: ${(e as Error).stack ?? e}`);
          });
        if (serial) chain = chain.then(run);
        else void run();
      }
    } catch {
      // socket closed
    }
  }

  send(channel: Channel, msg: Message<unknown>): Promise<void> {
    const frames = encode(msg, this.conn.key, this.conn.signature_scheme);
    if (channel === 'iopub') {
      // The topic frame lets subscribers filter; clients subscribe to everything.
      frames.splice(0, msg.identities.length, Buffer.from(`kernel.${msg.header.msg_type}`));
    }
    return this.queues[channel].push(frames);
  }

  close(): void {
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) {
      s.linger = 0;
      s.close();
    }
  }
}
