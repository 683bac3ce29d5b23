// Runs the client's operations against a live server: login, sidebar, the events
// subscription, send (twice with one nonce) and history. Prints one JSON line of what it saw.
// Usage: node dist/demo.js GRAPHQL_URL EMAIL PASSWORD
import { GoChatClient, type Subscription } from "./client.js";
import {
  EventsDocument,
  HistoryDocument,
  LoginDocument,
  SendDocument,
  SidebarDocument,
  type EventsSubscription,
} from "./generated/graphql.js";

type MessageCreated = Extract<EventsSubscription["events"], { __typename: "MessageCreated" }>;

async function main(): Promise<void> {
  const [endpoint, email, password] = process.argv.slice(2);
  if (endpoint === undefined || email === undefined || password === undefined) {
    throw new Error("usage: demo.js GRAPHQL_URL EMAIL PASSWORD");
  }
  const client = new GoChatClient(endpoint);
  const { login } = await client.request(LoginDocument, { email, password });
  client.setToken(login.session.accessToken);

  const { me } = await client.request(SidebarDocument);
  const channel = me.guilds.flatMap((g) => g.channels).find((c) => c.type === "TEXT");
  if (channel === undefined) throw new Error("no text channel in the sidebar");

  // The subscription starts asynchronously: send until the stream shows one of ours.
  const events = client.subscribe(EventsDocument);
  const nonce = `ts-${Date.now()}`;
  let received: MessageCreated | null = null;
  let first: Awaited<ReturnType<typeof sendOnce>> | null = null;
  const sendOnce = (n: number) =>
    client.request(SendDocument, {
      channelId: channel.id,
      content: `hello from TypeScript ${n}`,
      nonce: `${nonce}-${n}`,
    });
  const deadline = Date.now() + 30_000;
  for (let n = 0; received === null && Date.now() < deadline; n++) {
    const sent = await sendOnce(n);
    first ??= sent;
    received = await nextMessage(events, sent.sendMessage.message.id, 2_000);
  }
  events.close();
  if (received === null || first === null) throw new Error("no MessageCreated event arrived");
  const again = await client.request(SendDocument, {
    channelId: channel.id,
    content: first.sendMessage.message.content,
    nonce: `${nonce}-0`,
  });

  const { channel: history } = await client.request(HistoryDocument, {
    channelId: channel.id,
    last: 50,
  });
  await client.close();
  // null with a NOT_FOUND error (thrown by request) when the channel is gone or hidden.
  if (history === null) throw new Error("the channel is gone");
  if (history.__typename !== "TextChannel") throw new Error("not a text channel");
  // null with a FORBIDDEN error when the viewer may not read the history.
  if (!history.messages) throw new Error("no history to read");
  console.log(
    JSON.stringify({
      handle: me.handle,
      channelId: channel.id,
      event: received.message,
      retryCreated: again.sendMessage.created,
      retryId: again.sendMessage.message.id === first.sendMessage.message.id,
      history: history.messages.edges.map((edge) => edge.node.content),
    }),
  );
}

/** The MessageCreated event of `messageId`, if it arrives within `ms`. */
async function nextMessage(
  events: Subscription<EventsSubscription>,
  messageId: string,
  ms: number,
): Promise<MessageCreated | null> {
  const until = Date.now() + ms;
  for (;;) {
    const next = await events.next(until - Date.now());
    if (next === null) return null;
    const event = next.events;
    if (event.__typename === "MessageCreated" && event.message.id === messageId) return event;
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
