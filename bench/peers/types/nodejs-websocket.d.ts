/** The part of nodejs-websocket (which ships no types) the bench's peer uses. */
declare module 'nodejs-websocket' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer } from 'node:net';

  export interface Connection extends EventEmitter {
    readyState: number;
    sendText(text: string, callback?: (error?: Error) => void): void;
    close(code?: number, reason?: string): void;
    on(event: 'text', listener: (text: string) => void): this;
    on(event: 'connect', listener: () => void): this;
    on(event: 'close', listener: (code: number, reason: string) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
  }

  export interface Server extends EventEmitter {
    connections: Connection[];
    socket: NetServer;
    listen(port: number, host?: string, callback?: () => void): this;
    close(callback?: () => void): this;
  }

  export function createServer(callback?: (conn: Connection) => void): Server;
  export function connect(url: string, callback?: () => void): Connection;

  const ws: { createServer: typeof createServer; connect: typeof connect };
  export default ws;
}
