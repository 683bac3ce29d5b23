// A small typed client for GoChat: each operation is a TypedDocumentNode generated from
// ../operations, so variables and results are checked by the compiler. Queries and mutations
// go over HTTP (fetch), subscriptions over one graphql-transport-ws socket (graphql-ws).
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient, type Client as SocketClient } from "graphql-ws";
import WebSocket from "ws";

/** One GraphQL error as GoChat sends it: `extensions.code` is stable. */
export interface GraphQLErrorBody {
  message: string;
  path?: ReadonlyArray<string | number>;
  extensions?: { code?: string; [key: string]: unknown };
}

export class GoChatError extends Error {
  readonly errors: readonly GraphQLErrorBody[];

  constructor(errors: readonly GraphQLErrorBody[]) {
    super(errors.map((e) => `${e.extensions?.code ?? "ERROR"}: ${e.message}`).join("; "));
    this.name = "GoChatError";
    this.errors = errors;
  }

  /** The codes of the errors, e.g. ["UNAUTHENTICATED"]. */
  get codes(): string[] {
    return this.errors.map((e) => e.extensions?.code ?? "ERROR");
  }
}

type Variables<V> = V extends Record<string, never> ? [variables?: V] : [variables: V];

export class GoChatClient {
  private socket: SocketClient | null = null;

  /** `endpoint` is the GraphQL URL, e.g. http://127.0.0.1:8000/graphql. */
  constructor(
    private readonly endpoint: string,
    private token: string | null = null,
  ) {}

  /** Use this access token from now on (HTTP at once; a new socket for subscriptions). */
  setToken(token: string | null): void {
    this.token = token;
    void this.socket?.dispose();
    this.socket = null;
  }

  async request<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V>,
    ...[variables]: Variables<V>
  ): Promise<R> {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
    const response = await fetch(this.endpoint, {
      method: "POST",
      headers,
      body: JSON.stringify({ query: print(document), variables: variables ?? {} }),
    });
    const body = (await response.json()) as { data?: R | null; errors?: GraphQLErrorBody[] };
    if (body.errors !== undefined && body.errors.length > 0) throw new GoChatError(body.errors);
    if (body.data === undefined || body.data === null) {
      throw new Error(`HTTP ${response.status} without data`);
    }
    return body.data;
  }

  /** Starts a subscription; read its results with `next()`, end it with `close()`. */
  subscribe<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V>,
    ...[variables]: Variables<V>
  ): Subscription<R> {
    const subscription = new Subscription<R>();
    const stop = this.connection().subscribe<R>(
      { query: print(document), variables: variables ?? {} },
      {
        next: (result) => {
          if (result.errors !== undefined && result.errors.length > 0) {
            subscription.fail(new GoChatError(result.errors as GraphQLErrorBody[]));
          } else if (result.data !== undefined && result.data !== null) {
            subscription.push(result.data);
          }
        },
        error: (error: unknown) => subscription.fail(error),
        complete: () => subscription.end(),
      },
    );
    subscription.onClose(stop);
    return subscription;
  }

  /** Closes the subscription socket, if one is open. */
  async close(): Promise<void> {
    await this.socket?.dispose();
    this.socket = null;
  }

  private connection(): SocketClient {
    if (this.socket === null) {
      const url = new URL(this.endpoint);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const token = this.token;
      this.socket = createClient({
        url: url.toString(),
        webSocketImpl: WebSocket,
        lazy: true,
        connectionParams: () => (token === null ? {} : { authorization: `Bearer ${token}` }),
      });
    }
    return this.socket;
  }
}

/** The results of one subscription, buffered until read. */
export class Subscription<R> {
  private readonly buffered: R[] = [];
  private waiter: (() => void) | null = null;
  private failure: unknown = null;
  private ended = false;
  private stop: (() => void) | null = null;

  /** The next result; null when none came within `timeoutMs` or the stream completed. Throws
   * the stream's error (a GoChatError for GraphQL errors, such as NOT_FOUND). */
  async next(timeoutMs: number): Promise<R | null> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const result = this.buffered.shift();
      if (result !== undefined) return result;
      if (this.failure !== null) throw this.failure;
      if (this.ended || Date.now() >= deadline) return null;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = null;
    }
  }

  /** Ends the subscription (sends `complete` to the server). */
  close(): void {
    this.ended = true;
    this.stop?.();
    this.stop = null;
  }

  /** @internal */
  onClose(stop: () => void): void {
    if (this.ended) stop();
    else this.stop = stop;
  }

  /** @internal */
  push(result: R): void {
    this.buffered.push(result);
    this.waiter?.();
  }

  /** @internal */
  fail(error: unknown): void {
    this.failure = error;
    this.waiter?.();
  }

  /** @internal */
  end(): void {
    this.ended = true;
    this.waiter?.();
  }
}
