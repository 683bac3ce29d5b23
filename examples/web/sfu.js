// A browser client for the GoChat SFU's signaling protocol (see gochat/sfu/__init__.py).
// Usage: const call = new VoiceCall(sfuUrl, token, {onMembers, onTrack, onStatus});
//        await call.join(localStream); ...; call.leave();

export class VoiceCall {
  constructor(url, token, handlers = {}) {
    this.url = url;
    this.token = token;
    this.handlers = handlers;
    this.members = new Map(); // sessionId -> member
    this.tracks = new Map(); // mid -> {userId, sessionId, kind}
    this.pc = new RTCPeerConnection({ iceServers: [] });
    this.pc.ontrack = (event) => {
      const owner = this.tracks.get(event.transceiver.mid) || {};
      this.handlers.onTrack?.(event.track, owner);
    };
    this.pc.onicecandidate = (event) => {
      this.send({ op: "candidate", candidate: event.candidate ? event.candidate.toJSON() : {} });
    };
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  join(stream) {
    return new Promise((resolve, reject) => {
      this.ws = new WebSocket(this.url);
      this.ws.onopen = () => this.send({ op: "join", token: this.token });
      this.ws.onclose = (event) => {
        this.handlers.onStatus?.(`Disconnected (${event.code}${event.reason ? ": " + event.reason : ""}).`);
        reject(new Error(`closed ${event.code}`));
      };
      // One message at a time: an offer must not start while an answer is being applied.
      let queue = Promise.resolve();
      this.ws.onmessage = (event) => {
        const message = JSON.parse(event.data);
        queue = queue
          .then(() => this.handle(message, stream, resolve))
          .catch((error) => console.warn("signaling", error));
      };
    });
  }

  async handle(message, stream, joined) {
    switch (message.op) {
      case "joined":
        this.self = message.self;
        for (const member of [message.self, ...message.members]) this.members.set(member.sessionId, member);
        this.changed();
        this.handlers.onStatus?.("Connected.");
        joined(this);
        break;
      case "offer":
        // The SFU makes every offer: our own media goes on its receive-only `upstream` m-lines.
        for (const track of message.tracks) this.tracks.set(track.mid, track);
        await this.pc.setRemoteDescription({ type: "offer", sdp: message.sdp });
        if (!this.attached) {
          this.attached = true;
          for (const track of stream.getTracks()) {
            const mid = message.upstream[track.kind];
            const transceiver = this.pc.getTransceivers().find((t) => t.mid === mid);
            if (!transceiver) continue;
            await transceiver.sender.replaceTrack(track);
            transceiver.direction = "sendrecv";
          }
        }
        await this.pc.setLocalDescription(await this.pc.createAnswer());
        this.send({ op: "answer", sdp: this.pc.localDescription.sdp });
        break;
      case "member_joined":
      case "member_state":
      case "speaking":
        this.members.set(message.sessionId, { ...this.members.get(message.sessionId), ...message });
        this.changed();
        break;
      case "member_left":
        this.members.delete(message.sessionId);
        this.changed();
        break;
      case "disconnected":
        this.handlers.onStatus?.(`Removed from voice: ${message.reason}.`);
        break;
      case "error":
        console.warn("SFU error", message.code, message.message);
        break;
    }
  }

  changed() {
    this.handlers.onMembers?.([...this.members.values()]);
  }

  leave() {
    this.send({ op: "leave" });
    this.pc.close();
  }
}
