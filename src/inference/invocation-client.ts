import { Agent, request } from 'node:http';

/** The inference container contract's port (SageMaker's): GET /ping and POST /invocations. */
export const INFERENCE_PORT = 8080;

export interface InvocationResponse {
  status: number;
  body: Buffer;
  /** The body went past `maxBodyBytes`: reading stopped there. */
  truncated: boolean;
}

/**
 * Talks to one inference container over HTTP at its address on the job's network. The container is hostile:
 * every call has a timeout, and an answer is read only up to a bound, so a container that streams forever
 * neither hangs the job nor fills this process's memory.
 */
export class InvocationClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });

  constructor(private readonly address: string) {}

  /** GET /ping: the status code, or undefined when nothing answered within `timeoutMs`. */
  async ping(timeoutMs: number): Promise<number | undefined> {
    try {
      return (await this.call('GET', '/ping', undefined, {}, timeoutMs, 4096)).status;
    } catch {
      return undefined;
    }
  }

  /** POST /invocations with the records; rejects when the connection fails or `timeoutMs` passes. */
  invoke(body: Buffer, headers: Record<string, string>, timeoutMs: number, maxBodyBytes: number): Promise<InvocationResponse> {
    return this.call('POST', '/invocations', body, headers, timeoutMs, maxBodyBytes);
  }

  close(): void {
    this.agent.destroy();
  }

  private call(method: string, path: string, body: Buffer | undefined, headers: Record<string, string>, timeoutMs: number, maxBodyBytes: number): Promise<InvocationResponse> {
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: this.address,
          port: INFERENCE_PORT,
          method,
          path,
          agent: this.agent,
          headers: { ...headers, ...(body ? { 'Content-Length': String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > maxBodyBytes) {
              chunks.push(c.subarray(0, Math.max(0, c.length - (size - maxBodyBytes))));
              clearTimeout(timer);
              resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), truncated: true });
              req.destroy();
              return;
            }
            chunks.push(c);
          });
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), truncated: false });
          });
          res.on('error', (e) => {
            clearTimeout(timer);
            reject(e);
          });
        },
      );
      const timer = setTimeout(() => req.destroy(new Error(`no answer to ${method} ${path} within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
      req.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      req.end(body);
    });
  }
}
