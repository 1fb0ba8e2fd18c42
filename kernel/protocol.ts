/**
 * Jupyter messaging protocol 5.3: the wire types pitlab's kernel speaks, plus the helpers that
 * build and sign messages. Field names keep the specification's snake_case.
 */
import { createHmac, randomUUID } from 'node:crypto';

export const PROTOCOL_VERSION = '5.3';

/** Written by Jupyter into the file named on the kernel's command line. */
export interface ConnectionInfo {
  ip: string;
  transport: 'tcp' | 'ipc';
  signature_scheme: string;
  key: string;
  shell_port: number;
  control_port: number;
  stdin_port: number;
  iopub_port: number;
  hb_port: number;
}

export interface Header {
  msg_id: string;
  username: string;
  session: string;
  date: string;
  msg_type: string;
  version: string;
}

/** A decoded message; `identities` are the ZMQ routing frames before the delimiter. */
export interface Message<C = Record<string, unknown>> {
  identities: Buffer[];
  header: Header;
  /** Empty object for messages that answer nothing (e.g. the first status). */
  parent_header: Header | Record<string, never>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** MIME type → data; `text/plain` is always present in what pitlab emits. */
export type MimeBundle = Record<string, unknown>;

export type Channel = 'shell' | 'control' | 'iopub' | 'stdin';

/** The frame between routing identities and the signed parts. */
export const DELIM = Buffer.from('<IDS|MSG>');

/** The session id of this kernel process, stamped on every message it sends. */
export const KERNEL_SESSION = randomUUID();

/**
 * Builds a message in reply to (or on behalf of) `parent`. Identities are copied so replies on
 * ROUTER sockets reach the client that asked.
 */
export function makeMessage<C>(
  parent: Message<unknown> | undefined,
  msgType: string,
  content: C,
  metadata: Record<string, unknown> = {},
): Message<C> {
  return {
    identities: parent ? parent.identities : [],
    header: {
      msg_id: randomUUID(),
      username: parent?.header.username ?? 'kernel',
      session: KERNEL_SESSION,
      date: new Date().toISOString(),
      msg_type: msgType,
      version: PROTOCOL_VERSION,
    },
    parent_header: parent ? parent.header : {},
    metadata,
    content,
    buffers: [],
  };
}

/** HMAC over header, parent header, metadata and content; empty key means unsigned. */
export function sign(key: string, scheme: string, parts: Buffer[]): string {
  if (!key) return '';
  const algo = scheme.replace(/^hmac-/, '');
  const hmac = createHmac(algo, key);
  for (const p of parts) hmac.update(p);
  return hmac.digest('hex');
}

/** Encodes a message to ZMQ frames. */
export function encode(msg: Message<unknown>, key: string, scheme: string): Buffer[] {
  const parts = [msg.header, msg.parent_header, msg.metadata, msg.content].map((p) =>
    Buffer.from(JSON.stringify(p)),
  );
  return [
    ...msg.identities,
    DELIM,
    Buffer.from(sign(key, scheme, parts)),
    ...parts,
    ...msg.buffers,
  ];
}

/**
 * Decodes ZMQ frames; throws on a bad signature. Identities may have any length and number
 * (tslab assumed one fixed-size identity; see yunabe/tslab PR #99).
 */
export function decode(frames: Buffer[], key: string, scheme: string): Message {
  const at = frames.findIndex((f) => f.equals(DELIM));
  if (at < 0) throw new Error('message without <IDS|MSG> delimiter');
  const [hmac, ...rest] = frames.slice(at + 1);
  const parts = rest.slice(0, 4);
  if (parts.length < 4) throw new Error(`message with ${parts.length} of 4 parts`);
  if (key && hmac?.toString() !== sign(key, scheme, parts)) {
    throw new Error('message with a bad HMAC signature');
  }
  const [header, parent, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
  return {
    identities: frames.slice(0, at),
    header,
    parent_header: parent,
    metadata,
    content,
    buffers: rest.slice(4),
  };
}
