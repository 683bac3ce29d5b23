// The example page: sign in to the GoChat API, pick a voice channel, join it, show who speaks.
// `?sfu=URL&token=T` joins that SFU directly (a token from joinVoice obtained elsewhere).
import { VoiceCall } from "./sfu.js";

const $ = (selector) => document.querySelector(selector);
let api = "/graphql";
let accessToken = null;
let call = null;
window.gochatVoice = { call: null, speaking: new Set(), heard: new Map() };

async function graphql(query, variables = {}) {
  const response = await fetch(api, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(accessToken ? { authorization: `Bearer ${accessToken}` } : {}),
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  if (body.errors?.length) throw new Error(body.errors.map((e) => e.message).join("; "));
  return body.data;
}

function showMembers(members) {
  const list = $("#members");
  list.replaceChildren();
  window.gochatVoice.speaking = new Set(members.filter((m) => m.speaking).map((m) => m.userId));
  for (const member of members) {
    const item = document.createElement("li");
    item.textContent = `user ${member.userId}${member.serverMute ? " (muted)" : ""}`;
    item.dataset.userId = member.userId;
    item.classList.toggle("speaking", Boolean(member.speaking));
    list.append(item);
  }
}

function playTrack(track, owner) {
  if (track.kind !== "audio") return;
  const audio = document.createElement("audio");
  audio.autoplay = true;
  audio.dataset.userId = owner.userId || "";
  audio.srcObject = new MediaStream([track]);
  $("#audio").append(audio);
  window.gochatVoice.heard.set(owner.userId, track);
}

async function join(sfuUrl, token) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  call = new VoiceCall(sfuUrl, token, {
    onMembers: showMembers,
    onTrack: playTrack,
    onStatus: (text) => ($("#status").textContent = text),
  });
  window.gochatVoice.call = call;
  await call.join(stream);
  $("#leave").hidden = false;
}

async function inboundAudio() {
  // Per sending user: RTP packets received and the audio energy played, from getStats.
  const result = {};
  if (!call) return result;
  const stats = await call.pc.getStats();
  for (const transceiver of call.pc.getTransceivers()) {
    const owner = call.tracks.get(transceiver.mid);
    if (!owner || owner.kind !== "audio") continue;
    for (const report of stats.values()) {
      if (report.type === "inbound-rtp" && report.trackIdentifier === transceiver.receiver.track.id) {
        result[owner.userId] = { packets: report.packetsReceived, energy: report.totalAudioEnergy || 0 };
      }
    }
  }
  return result;
}
window.gochatVoice.inboundAudio = inboundAudio;

$("#login").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  api = form.get("api");
  try {
    const data = await graphql(
      "mutation($i: LoginInput!) { login(input: $i) { session { accessToken } } }",
      { i: { email: form.get("email"), password: form.get("password") } },
    );
    accessToken = data.login.session.accessToken;
    const me = await graphql("{ me { guilds { id name channels { id name type } } } }");
    const list = $("#channel-list");
    list.replaceChildren();
    for (const guild of me.me.guilds) {
      for (const channel of guild.channels.filter((c) => c.type === "VOICE")) {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.textContent = `${guild.name} / ${channel.name}`;
        button.onclick = async () => {
          const joined = await graphql(
            "mutation($i: JoinVoiceInput!) { joinVoice(input: $i) { sfuUrl token region } }",
            { i: { channelId: channel.id } },
          );
          await join(joined.joinVoice.sfuUrl, joined.joinVoice.token);
        };
        item.append(button);
        list.append(item);
      }
    }
    $("#channels").hidden = false;
  } catch (error) {
    $("#status").textContent = `Sign-in failed: ${error.message}`;
  }
});

$("#leave").addEventListener("click", () => {
  call?.leave();
  $("#status").textContent = "Left.";
});

const params = new URLSearchParams(location.search);
if (params.get("sfu") && params.get("token")) join(params.get("sfu"), params.get("token"));
