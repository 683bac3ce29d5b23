"""The SFU: voice and video rooms over WebRTC (aiortc), forwarding RTP without decoding.

A client gets `{sfuUrl, token}` from the API's `joinVoice` and opens a WebSocket to `sfuUrl`.
Every message is one JSON object with an `op`; ids are strings.

Client -> SFU
    {"op": "join", "token": "<SFU token>"}          first message, within 10 s
    {"op": "answer", "sdp": "..."}                  answer to the SFU's `offer`
    {"op": "candidate", "candidate": {"candidate": "candidate:...", "sdpMid": "0",
                                      "sdpMLineIndex": 0}}      trickle ICE ({} ends them)
    {"op": "renegotiate"}                           ask for a new offer (to start video)
    {"op": "ping", "t": <any>}                      answered by {"op": "pong", "t": <same>}
    {"op": "leave"}                                 then the SFU closes the socket

SFU -> client
    {"op": "joined", "sfuId", "self": MEMBER, "members": [MEMBER...]}
    {"op": "offer", "sdp", "upstream": {"audio": MID, "video": MID},
     "tracks": [{"mid", "kind", "sessionId", "userId"}]}
        right after `joined`, and again whenever members come and go. `upstream` names the
        receive-only m-lines for the client's own media: the client attaches its microphone
        (and camera) there (`replaceTrack`, direction sendrecv) before answering. Every other
        m-line is send-only and carries one other member's audio or video; `tracks` says whose.
    {"op": "member_joined" | "member_left" | "member_state" | "speaking" | "video", **MEMBER}
    {"op": "error", "code": "UNAUTHENTICATED" | "BAD_USER_INPUT" | "CONFLICT" | "TIMEOUT",
     "message"}                                    the socket stays open (except on join)
    {"op": "disconnected", "reason"}                the API removed the member; socket closes
    MEMBER = {"sessionId", "userId", "serverMute", "serverDeaf", "speaking", "video"}

Close codes: 4401 bad, expired or another SFU's token; 4400 no join first; 4408 no join in
time; 4000 disconnected by the API; 4409 the same voice session joined again elsewhere;
1001 the SFU stops.

Negotiation: the SFU makes every offer (see `rooms` for why); an answer that does not apply
gets BAD_USER_INPUT and the offer stays open for 15 s. The SFU's candidates are in its SDP
(aiortc gathers before offering); the client may trickle its own.

Media: the server forwards each member's Opus (and VP8) RTP packets to the others without
decoding (`forwarding`); server mute, a missing VOICE_SPEAK or VOICE_VIDEO stop that member's
packets, server deafen stops everything reaching it. Speaking comes from the RFC 6464 audio
level extension (or, without it, the Opus packet size) and is reported on the bus.
"""
