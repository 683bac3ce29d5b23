"""The SFU: voice and video rooms over WebRTC (aiortc), forwarding RTP without decoding.

A client gets `{sfuUrl, token}` from the API's `joinVoice` and opens a WebSocket to `sfuUrl`.
Every message is one JSON object with an `op`; ids are strings.

Client -> SFU
    {"op": "join", "token": "<SFU token>"}          first message, within 10 s
    {"op": "offer", "sdp": "..."}                   the client's tracks (once, after `joined`)
    {"op": "answer", "sdp": "..."}                  answer to the SFU's `offer`
    {"op": "candidate", "candidate": {"candidate": "candidate:...", "sdpMid": "0",
                                      "sdpMLineIndex": 0}}      trickle ICE (empty: end)
    {"op": "ping", "t": <any>}                      answered by {"op": "pong", "t": <same>}
    {"op": "leave"}                                 then the SFU closes the socket

SFU -> client
    {"op": "joined", "sfuId", "self": MEMBER, "members": [MEMBER...]}
    {"op": "answer", "sdp"}                         to the client's offer
    {"op": "offer", "sdp", "tracks": [{"mid", "kind", "sessionId", "userId"}]}
        the other members' media, one send-only m-line per member and kind; `tracks` says
        whose media each MID carries. The SFU makes every offer after the client's first.
    {"op": "member_joined" | "member_left" | "member_state" | "speaking", **MEMBER}
    {"op": "error", "code": "UNAUTHENTICATED" | "BAD_USER_INPUT" | "CONFLICT" | ..., "message"}
    {"op": "disconnected", "reason"}                the API removed the member; socket closes
    MEMBER = {"sessionId", "userId", "serverMute", "serverDeaf", "speaking"}

Close codes: 4401 bad, expired or another SFU's token; 4400 no join first; 4408 no join in
time; 4000 disconnected by the API; 4409 the same voice session joined again elsewhere;
1001 the SFU stops.

Negotiation: the client offers its own tracks once (audio, and a video transceiver if it may
send video later: `replaceTrack` then needs no new offer); the SFU answers, then offers the
others' media and re-offers whenever members come and go. An `offer` from the client while the
SFU's offer waits for its answer gets CONFLICT. The SFU's candidates are in its SDP (aiortc
gathers before answering); the client may trickle its own.

Media: the server forwards each member's Opus (and VP8) RTP packets to the others without
decoding (`forwarding`); server mute, a missing VOICE_SPEAK or VOICE_VIDEO stop that member's
packets, server deafen stops everything reaching it. Speaking comes from the RFC 6464 audio
level extension (or, without it, the Opus packet size) and is reported on the bus.
"""
