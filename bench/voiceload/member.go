package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// newAPI is Pion with Opus (and VP8, to answer the SFU's video m-line), the MID and audio-level
// header extensions a browser negotiates, no interceptors (no NACK, reports or congestion
// control: a receiver only counts packets), and ICE host candidates on 127.0.0.1 only.
func newAPI() (*webrtc.API, error) {
	media := &webrtc.MediaEngine{}
	if err := media.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: "minptime=10;useinbandfec=1",
		},
		PayloadType: 111,
	}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, err
	}
	if err := media.RegisterCodec(webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000},
		PayloadType:        96,
	}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, err
	}
	for _, uri := range []string{sdp.SDESMidURI, sdp.AudioLevelURI} {
		if err := media.RegisterHeaderExtension(
			webrtc.RTPHeaderExtensionCapability{URI: uri}, webrtc.RTPCodecTypeAudio,
		); err != nil {
			return nil, err
		}
	}
	settings := webrtc.SettingEngine{}
	settings.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	settings.SetIncludeLoopbackCandidate(true)
	settings.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	settings.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// A loaded machine can starve a peer for seconds: do not give up on it mid-run.
	settings.SetICETimeouts(30*time.Second, 120*time.Second, 2*time.Second)
	return webrtc.NewAPI(
		webrtc.WithMediaEngine(media),
		webrtc.WithSettingEngine(settings),
		webrtc.WithInterceptorRegistry(&interceptor.Registry{}),
	), nil
}

// sender is one sending member's audio: pre-encoded Opus packets, 50 a second, each one's
// send time recorded by index.
type sender struct {
	track    *webrtc.TrackLocalStaticRTP
	payloads [][]byte
	phase    float64
	mu       sync.Mutex
	sentAt   []time.Time
	late     []float64 // ms each packet went out after its planned time: this process's lag
}

// run sends from begin until stop: packet k at sendTime(begin, phase, k), RTP timestamp
// k x 960, sequence number k (the SFU renumbers per receiver anyway).
func (s *sender) run(begin time.Time, stop <-chan struct{}) {
	for k := 0; ; k++ {
		at := sendTime(begin, s.phase, k)
		if wait := time.Until(at); wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait):
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		packet := &rtp.Packet{
			Header: rtp.Header{
				Version:        2,
				Marker:         k == 0,
				SequenceNumber: uint16(k),
				Timestamp:      uint32(k * frameTicks),
			},
			Payload: s.payloads[k%len(s.payloads)],
		}
		now := time.Now()
		s.mu.Lock()
		s.sentAt = append(s.sentAt, now)
		s.late = append(s.late, roundMillis(now.Sub(at)))
		s.mu.Unlock()
		if err := s.track.WriteRTP(packet); err != nil {
			log.Printf("voiceload: send: %v", err)
		}
	}
}

func (s *sender) sendTimes() ([]time.Time, []float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.sentAt...), append([]float64(nil), s.late...)
}

// member is one voice client: a signaling socket and a peer connection answering the SFU.
type member struct {
	spec   memberSpec
	api    *webrtc.API
	pc     *webrtc.PeerConnection
	ws     *websocket.Conn
	sender *sender // nil for a listener

	mu         sync.Mutex
	mids       map[string]string    // MID of a forwarded m-line -> the user it carries
	heard      map[string]*arrivals // source user -> what arrived from it
	answered   bool                 // the SFU's first offer is answered
	attached   bool                 // our audio rides the SFU's upstream m-line
	connected  bool
	failure    error
	offers     int       // the SFU's offers answered
	lastAnswer time.Time // when the latest was
}

type signal struct {
	Op       string            `json:"op"`
	SDP      string            `json:"sdp,omitempty"`
	Token    string            `json:"token,omitempty"`
	Upstream map[string]string `json:"upstream,omitempty"`
	Tracks   []struct {
		Mid    string `json:"mid"`
		Kind   string `json:"kind"`
		UserID string `json:"userId"`
	} `json:"tracks,omitempty"`
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

func newMember(api *webrtc.API, spec memberSpec, s *sender) (*member, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle})
	if err != nil {
		return nil, err
	}
	m := &member{
		spec: spec, api: api, pc: pc, sender: s,
		mids: map[string]string{}, heard: map[string]*arrivals{},
	}
	pc.OnConnectionStateChange(func(state webrtc.PeerConnectionState) {
		m.mu.Lock()
		defer m.mu.Unlock()
		switch state {
		case webrtc.PeerConnectionStateConnected:
			m.connected = true
		case webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateClosed:
			m.connected = false
			if m.failure == nil && state == webrtc.PeerConnectionStateFailed {
				m.failure = fmt.Errorf("user %s: peer connection failed", spec.User)
			}
		}
	})
	pc.OnTrack(m.onTrack)
	return m, nil
}

// join opens the signaling socket, sends the token and waits for "joined"; offers are then
// answered in the background.
func (m *member) join(ctx context.Context, url string) error {
	ws, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return err
	}
	ws.SetReadLimit(-1)
	m.ws = ws
	if err := m.send(ctx, signal{Op: "join", Token: m.spec.Token}); err != nil {
		return err
	}
	first, err := m.receive(ctx)
	if err != nil {
		return err
	}
	if first.Op != "joined" {
		return fmt.Errorf("user %s: join refused: %s %s", m.spec.User, first.Code, first.Message)
	}
	go m.read()
	return nil
}

func (m *member) send(ctx context.Context, message signal) error {
	raw, err := json.Marshal(message)
	if err != nil {
		return err
	}
	return m.ws.Write(ctx, websocket.MessageText, raw)
}

func (m *member) receive(ctx context.Context) (signal, error) {
	var message signal
	_, raw, err := m.ws.Read(ctx)
	if err != nil {
		return message, err
	}
	return message, json.Unmarshal(raw, &message)
}

func (m *member) read() {
	ctx := context.Background()
	for {
		message, err := m.receive(ctx)
		if err != nil {
			return // closed: the run is over, or the failure shows as a missing member
		}
		switch message.Op {
		case "offer":
			if err := m.answer(ctx, message); err != nil {
				m.fail(fmt.Errorf("user %s: answering: %w", m.spec.User, err))
			}
		case "error":
			log.Printf("voiceload: user %s: SFU error %s: %s", m.spec.User, message.Code, message.Message)
		}
	}
}

func (m *member) fail(err error) {
	log.Printf("voiceload: %v", err)
	m.mu.Lock()
	if m.failure == nil {
		m.failure = err
	}
	m.mu.Unlock()
}

// answer applies one of the SFU's offers: the first one carries our upstream m-lines, and
// every one lists which MID carries whose audio.
func (m *member) answer(ctx context.Context, offer signal) error {
	m.mu.Lock()
	for _, track := range offer.Tracks {
		if track.Kind == "audio" {
			m.mids[track.Mid] = track.UserID
		}
	}
	m.mu.Unlock()
	if err := m.pc.SetRemoteDescription(webrtc.SessionDescription{
		Type: webrtc.SDPTypeOffer, SDP: offer.SDP,
	}); err != nil {
		return err
	}
	if m.sender != nil && !m.attached {
		if err := m.attach(offer.Upstream["audio"]); err != nil {
			return err
		}
	}
	answer, err := m.pc.CreateAnswer(nil)
	if err != nil {
		return err
	}
	gathered := webrtc.GatheringCompletePromise(m.pc)
	if err := m.pc.SetLocalDescription(answer); err != nil {
		return err
	}
	<-gathered // loopback host candidates only: at once, and all in the answer
	text := m.pc.LocalDescription().SDP
	if video, ok := offer.Upstream["video"]; ok {
		text = inactive(text, video)
	}
	if audio, ok := offer.Upstream["audio"]; ok && m.sender == nil {
		text = inactive(text, audio)
	}
	if err := m.send(ctx, signal{Op: "answer", SDP: text}); err != nil {
		return err
	}
	m.mu.Lock()
	m.answered = true
	m.offers++
	m.lastAnswer = time.Now()
	m.mu.Unlock()
	return nil
}

// attach puts the sender's track on the SFU's receive-only audio m-line (Pion made it a
// send-only transceiver without a sender when it applied the offer).
func (m *member) attach(mid string) error {
	rtpSender, err := m.pc.AddTrack(m.sender.track)
	if err != nil {
		return err
	}
	for _, t := range m.pc.GetTransceivers() {
		if t.Sender() == rtpSender && t.Mid() != mid {
			return fmt.Errorf("audio went on m-line %q, not the upstream %q", t.Mid(), mid)
		}
	}
	m.attached = true
	go drainRTCP(rtpSender.Read)
	return nil
}

func drainRTCP(read func([]byte) (int, interceptor.Attributes, error)) {
	buf := make([]byte, 1500)
	for {
		if _, _, err := read(buf); err != nil {
			return
		}
	}
}

// onTrack reads one forwarded source's RTP until the connection closes: arrival time and RTP
// timestamp, nothing decoded.
func (m *member) onTrack(track *webrtc.TrackRemote, receiver *webrtc.RTPReceiver) {
	go drainRTCP(receiver.Read)
	mid := ""
	for _, t := range m.pc.GetTransceivers() {
		if t.Receiver() == receiver {
			mid = t.Mid()
		}
	}
	m.mu.Lock()
	source, ok := m.mids[mid]
	if !ok {
		source = "?" + mid
	}
	got := m.heard[source]
	if got == nil {
		got = &arrivals{}
		m.heard[source] = got
	}
	m.mu.Unlock()
	buf := make([]byte, 1500)
	for {
		n, _, err := track.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		if timestamp, err := rtpTimestamp(buf[:n]); err == nil {
			got.add(now, timestamp)
		}
	}
}

// ready: connected, every expected source has its m-line negotiated, and no offer came for
// `quiet`: the SFU re-offers as sources appear, and an SFU still renegotiating when the
// benchmark measures its idle cost would inflate it.
func (m *member) ready(expected int, quiet time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	settled := time.Since(m.lastAnswer) >= quiet
	return m.connected && m.answered && len(m.mids) >= expected && settled, m.failure
}

func (m *member) answeredOffers() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.offers
}

func (m *member) listening() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.mids)
}

func (m *member) sources() map[string]*arrivals {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]*arrivals, len(m.heard))
	for source, got := range m.heard {
		out[source] = got
	}
	return out
}

func (m *member) close() {
	if m.ws != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = m.send(ctx, signal{Op: "leave"})
		cancel()
		_ = m.ws.Close(websocket.StatusNormalClosure, "done")
	}
	_ = m.pc.Close()
}
