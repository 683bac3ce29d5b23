// Command voiceload is the Go load process of bench/voice.py (`--client go`): the members of
// the benchmark's voice rooms, each a Pion peer connection answering the SFU over its
// WebSocket signaling (join with a token, the SFU's offers answered, ICE on 127.0.0.1).
//
// Senders send pre-encoded 20 ms Opus packets (the bytes come from bench/voice.py: no encoder
// here), 50 a second, RTP timestamps +960; every receiver reads the RTP of every source without
// decoding and records each packet's arrival time and timestamp. One process holds all the
// members, so a packet's latency is its arrival minus the send time of the sender's packet
// with the same index, on one clock.
//
// The protocol with bench/voice.py is the Python load process's: "READY" on stdout once every
// member is connected and negotiated, then a line on stdin to start sending, "STOP" after
// -seconds of sending, and after a 1 s drain "RESULT {json}": packets sent per sender,
// distinct packets received per "receiver<source", sources negotiated per receiver, and the
// latencies in milliseconds.
//
// aiortc's load process spends ~50 µs of Python per received packet on one core, so at 400
// streams (20,000 packets/s) it needs more than the two cores it shares with the SFU, and its
// own queueing becomes the measured latency; this process spent 22-26 µs per packet it sent or
// received at 400 streams on the same (shared) machine, on both cores. Senders also record how
// late each packet went out against its schedule (RESULT's send_late_p50_ms and
// send_late_p99_ms): the part of the latency that is this process's own scheduling.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"time"

	"github.com/pion/webrtc/v4"
)

// memberSpec is one member as bench/voice.py issues it: the room (channel) is in the token.
type memberSpec struct {
	User   string `json:"user"`
	Room   int    `json:"room"`
	Token  string `json:"token"`
	Sender bool   `json:"sender"`
}

// config is the file bench/voice.py writes for one load process.
type config struct {
	URL      string       `json:"url"`
	Seconds  float64      `json:"seconds"`
	Members  []memberSpec `json:"members"`
	Payloads [][]byte     `json:"payloads"` // base64 in the file
	// Sources each member of a room should hear: the room's senders less itself.
	Senders int `json:"senders"`
}

type result struct {
	Sent      map[string]int `json:"sent"`
	Received  map[string]int `json:"received"`
	Listening map[string]int `json:"listening"`
	Latencies []float64      `json:"latencies"`
	// How late the senders sent, in ms (p50, p99): the load process's own scheduling delay,
	// which the latencies include.
	SendLateP50 float64 `json:"send_late_p50_ms"`
	SendLateP99 float64 `json:"send_late_p99_ms"`
}

func main() {
	path := flag.String("config", "", "JSON file written by bench/voice.py")
	connectTimeout := flag.Duration("connect-timeout", 180*time.Second, "for every member to connect")
	quiet := flag.Duration("quiet", 2*time.Second, "no offer for this long before READY")
	flag.Parse()
	log.SetFlags(log.Ltime | log.Lmicroseconds)
	if *path == "" {
		fmt.Fprintln(os.Stderr, "voiceload: -config is required")
		os.Exit(2)
	}
	raw, err := os.ReadFile(*path)
	if err != nil {
		log.Fatalf("voiceload: %v", err)
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		log.Fatalf("voiceload: %s: %v", *path, err)
	}
	if len(cfg.Payloads) == 0 {
		log.Fatalf("voiceload: %s has no Opus payloads", *path)
	}
	// A CPU profile of this process (bench/voice.py has VOICE_BENCH_PROFILE for the SFU's).
	if profile := os.Getenv("VOICELOAD_CPUPROFILE"); profile != "" {
		out, err := os.Create(profile)
		if err != nil {
			log.Fatalf("voiceload: %v", err)
		}
		if err := pprof.StartCPUProfile(out); err != nil {
			log.Fatalf("voiceload: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(cfg, *connectTimeout, *quiet); err != nil {
		log.Fatalf("voiceload: %v", err)
	}
}

func run(cfg config, connectTimeout, quiet time.Duration) error {
	api, err := newAPI()
	if err != nil {
		return err
	}
	members := make([]*member, 0, len(cfg.Members))
	senders := map[string]*sender{}
	defer func() {
		for _, m := range members {
			m.close()
		}
	}()
	nSenders := 0
	for _, spec := range cfg.Members {
		if spec.Sender {
			nSenders++
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	for _, spec := range cfg.Members {
		var s *sender
		if spec.Sender {
			track, err := webrtc.NewTrackLocalStaticRTP(
				webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2},
				"audio", "voiceload-"+spec.User,
			)
			if err != nil {
				return err
			}
			s = &sender{track: track, payloads: cfg.Payloads, phase: float64(len(senders)) / float64(nSenders)}
			senders[spec.User] = s
		}
		m, err := newMember(api, spec, s)
		if err != nil {
			return err
		}
		members = append(members, m)
		if err := m.join(ctx, cfg.URL); err != nil {
			return fmt.Errorf("user %s: join: %w", spec.User, err)
		}
	}
	if err := awaitReady(ctx, members, cfg.Senders, quiet); err != nil {
		return err
	}
	log.Printf("voiceload: ready: %d members, %d offers answered", len(members), offers(members))
	fmt.Println("READY")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("waiting for GO: %w", err)
	}
	stop := make(chan struct{})
	begin := time.Now()
	done := make(chan struct{}, len(senders))
	for _, s := range senders {
		go func(s *sender) {
			s.run(begin, stop)
			done <- struct{}{}
		}(s)
	}
	time.Sleep(time.Until(begin.Add(time.Duration(cfg.Seconds * float64(time.Second)))))
	close(stop)
	for range senders {
		<-done
	}
	fmt.Println("STOP")
	log.Printf("voiceload: stopped: %d offers answered", offers(members))
	time.Sleep(time.Second) // drain
	out, err := json.Marshal(collect(members, senders))
	if err != nil {
		return err
	}
	fmt.Println("RESULT " + string(out))
	return nil
}

func offers(members []*member) int {
	total := 0
	for _, m := range members {
		total += m.answeredOffers()
	}
	return total
}

func awaitReady(ctx context.Context, members []*member, senders int, quiet time.Duration) error {
	for {
		all := true
		for _, m := range members {
			expected := senders
			if m.sender != nil {
				expected--
			}
			ok, err := m.ready(expected, quiet)
			if err != nil {
				return err
			}
			all = all && ok
		}
		if all {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("members did not connect in time: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// collect builds the RESULT object from what every receiver heard and every sender sent.
func collect(members []*member, senders map[string]*sender) result {
	out := result{
		Sent:      map[string]int{},
		Received:  map[string]int{},
		Listening: map[string]int{},
		Latencies: []float64{},
	}
	sentAt := map[string][]time.Time{}
	var late []float64
	for user, s := range senders {
		times, lags := s.sendTimes()
		sentAt[user] = times
		late = append(late, lags...)
		out.Sent[user] = len(times)
	}
	out.SendLateP50, out.SendLateP99 = percentile(late, 0.5), percentile(late, 0.99)
	for _, m := range members {
		out.Listening[m.spec.User] = m.listening()
		for source, got := range m.sources() {
			received, latencies := summarize(got.snapshot(), sentAt[source])
			if received == 0 {
				continue
			}
			out.Received[m.spec.User+"<"+source] = received
			out.Latencies = append(out.Latencies, latencies...)
		}
	}
	return out
}
