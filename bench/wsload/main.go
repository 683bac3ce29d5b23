// Command wsload is the load client of bench/realtime.py: it opens many graphql-transport-ws
// sockets subscribed to one channel, sends messages through GraphQL over HTTP, and prints what
// the sockets received as one JSON object on stdout.
//
// Modes:
//
//	latency     send at a steady -rate for -warmup+-seconds; latency = receive time minus the
//	            send time carried in the message content
//	throughput  -window senders each send a message and wait until every socket has it (closed
//	            loop: fan-out stays saturated but no queue grows); frames counted over -seconds
//	idle        open and subscribe, print {"event":"ready"}, hold the sockets until stdin closes
//
// Linux only: the sockets are read on one epoll loop (poller.go). Progress goes to stderr. Python is not fast enough to receive 100,000 frames a second on
// two cores. The WebSocket client is the minimal one in ws.go rather than a library: this
// process shares the cores with the servers it measures, so every microsecond it spends per
// received frame is taken from them.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type config struct {
	urls            []string
	tokens          []string
	channel         string
	sockets         int
	dialConcurrency int
	sendURLs        []string
	sendToken       string
	mode            string
	rate            float64
	window          int
	warmup          time.Duration
	seconds         time.Duration
	drain           time.Duration
	maxMessages     int
	traceFile       string
	readPause       time.Duration
}

const subscription = `subscription($c: ID!) { channelEvents(channelId: $c) { __typename ... on MessageCreated { message { id content } } } }`
const sendMutation = `mutation($c: ID!, $t: String!) { sendMessage(input: {channelId: $c, content: $t}) { message { id } } }`

// Message contents are "rt <seq> <unix nanoseconds at send>"; probes (to learn that every
// socket's subscription is live) are "probe <n>".
var contentKey = []byte(`"content":"`)

type socket struct {
	conn       *wsConn
	server     int     // index in -urls
	seqs       []int32 // with -trace: the sequence number of each latency
	subscribed atomic.Bool
	mu         sync.Mutex
	latencies  []int32 // microseconds from the send to the read, measured messages only
	arrivals   []int32 // microseconds from the send to the kernel's receipt, likewise
	closedWith string
	done       chan struct{} // closed when the read loop returned
}

type load struct {
	cfg       config
	sockets   []*socket
	received  []atomic.Int32 // frames per message sequence number
	sentAt    []atomic.Int64 // unix ns per sequence number
	done      []chan struct{}
	seq       atomic.Int64
	expected  int32        // sockets every message should reach: those that initialized
	measureLo atomic.Int64 // first sequence number whose latency counts (-1: none yet)
	frames    atomic.Int64 // `next` frames for messages (probes excluded)
	probes    atomic.Int64
	others    atomic.Int64 // error / complete frames
	pongs     atomic.Int64
	http      *http.Client
	sendErrs  atomic.Int64
	firstErr  atomic.Value
	sendLat   []int32
	sendBySeq []int32 // microseconds the send of each sequence number took
	sendMu    sync.Mutex
	readersWG sync.WaitGroup
	poller    *poller
}

func parseFlags() config {
	var c config
	var urls, tokens, tokensFile string
	flag.StringVar(&urls, "urls", "", "comma-separated ws:// URLs; sockets are spread round robin")
	flag.StringVar(&tokens, "tokens", "", "comma-separated bearer tokens, used round robin")
	flag.StringVar(&tokensFile, "tokens-file", "", "file with one bearer token a line")
	flag.StringVar(&c.channel, "channel", "", "channel ID")
	flag.IntVar(&c.sockets, "sockets", 100, "sockets to open")
	flag.IntVar(&c.dialConcurrency, "dial-concurrency", 64, "sockets being opened at once")
	var sendURLs string
	flag.StringVar(&sendURLs, "send-url", "", "http:// URLs of /graphql to send through, comma-separated: message n goes through the (n mod count)th")
	flag.StringVar(&c.sendToken, "send-token", "", "bearer token of the sender")
	flag.StringVar(&c.mode, "mode", "latency", "latency | throughput | idle | calibrate (the host's cost per loopback frame, no server)")
	flag.Float64Var(&c.rate, "rate", 100, "messages per second (latency mode)")
	flag.IntVar(&c.window, "window", 4, "messages in flight (throughput mode)")
	flag.DurationVar(&c.warmup, "warmup", 3*time.Second, "sending before the measured window")
	flag.DurationVar(&c.seconds, "seconds", 10*time.Second, "measured window")
	flag.DurationVar(&c.drain, "drain", 10*time.Second, "longest wait for deliveries after sending stops")
	flag.IntVar(&c.maxMessages, "max-messages", 200000, "most messages one run may send")
	flag.DurationVar(&c.readPause, "read-pause", 0, "sleep after each round of reads (see poller.run)")
	flag.StringVar(&c.traceFile, "trace", "", "write one line per measured message: seq, send ms, then per server p50/max latency ms")
	flag.Parse()
	c.urls = splitList(urls)
	c.tokens = splitList(tokens)
	if tokensFile != "" {
		data, err := os.ReadFile(tokensFile)
		if err != nil {
			fatal("read tokens: %v", err)
		}
		c.tokens = append(c.tokens, splitList(strings.ReplaceAll(string(data), "\n", ","))...)
	}
	if c.mode == "calibrate" {
		return c
	}
	if len(c.urls) == 0 || len(c.tokens) == 0 || c.channel == "" {
		fatal("-urls, -tokens (or -tokens-file) and -channel are required")
	}
	c.sendURLs = splitList(sendURLs)
	if len(c.sendURLs) == 0 || c.sendToken == "" {
		fatal("-send-url and -send-token are required")
	}
	return c
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

func fatal(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wsload: "+format+"\n", args...)
	os.Exit(2)
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "wsload: "+format+"\n", args...)
}

func main() {
	cfg := parseFlags()
	// WSLOAD_CPUPROFILE=file: a CPU profile of this client for `go tool pprof`.
	if path := os.Getenv("WSLOAD_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			fatal("cpu profile: %v", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal("cpu profile: %v", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.mode == "calibrate" {
		emit(calibrate(500, 200, 172))
		return
	}
	l := &load{
		cfg:       cfg,
		received:  make([]atomic.Int32, cfg.maxMessages),
		sentAt:    make([]atomic.Int64, cfg.maxMessages),
		done:      make([]chan struct{}, cfg.maxMessages),
		sendBySeq: make([]int32, cfg.maxMessages),
		http: &http.Client{
			Timeout: 30 * time.Second,
			// Idle connections go before uvicorn's 5 s keep-alive timeout closes them: a POST
			// on a connection the server is closing at that moment fails, and is not retried.
			Transport: &http.Transport{MaxIdleConnsPerHost: 256, MaxConnsPerHost: 256, IdleConnTimeout: 4 * time.Second},
		},
	}
	l.poller = newPoller(l, cfg.readPause)
	l.measureLo.Store(-1)
	for i := range l.done {
		l.done[i] = make(chan struct{})
	}
	result := map[string]any{"mode": cfg.mode, "sockets": cfg.sockets}

	begun := time.Now()
	connected, dialErrors := l.open()
	result["connected"] = connected
	result["dial_errors"] = dialErrors
	result["connect_seconds"] = time.Since(begun).Seconds()
	l.expected = int32(connected)
	progress("%d/%d sockets initialized in %.1fs", connected, cfg.sockets, time.Since(begun).Seconds())

	subscribed, probes := l.barrier()
	result["subscribed"] = subscribed
	result["probe_messages"] = probes
	if subscribed < connected {
		progress("only %d of %d sockets received a probe", subscribed, connected)
	}
	if cfg.mode == "idle" {
		// Every socket is initialized and subscribed; the caller measures the server now,
		// then may ask for measurements on these same sockets, one command a line.
		emit(map[string]any{"event": "ready", "connected": connected, "subscribed": subscribed})
		lines := bufio.NewScanner(os.Stdin)
		for lines.Scan() {
			window := map[string]any{"event": "result", "mode": lines.Text()}
			for k, v := range result {
				if _, taken := window[k]; !taken {
					window[k] = v
				}
			}
			l.resetLatencies()
			switch lines.Text() {
			case "latency":
				l.runLatency(window)
			case "throughput":
				l.runThroughput(window)
			default:
				fatal("unknown command %q", lines.Text())
			}
			l.closedEarly(window)
			emit(window)
		}
		l.report(result, 0, -1)
	} else {
		switch cfg.mode {
		case "latency":
			l.runLatency(result)
		case "throughput":
			l.runThroughput(result)
		default:
			fatal("unknown mode %q", cfg.mode)
		}
	}
	l.closeAll(result)
	emit(result)
}

func emit(v map[string]any) {
	data, _ := json.Marshal(v)
	fmt.Println(string(data))
}

// --- sockets ----------------------------------------------------------------------------

func (l *load) open() (int, int) {
	cfg := l.cfg
	l.sockets = make([]*socket, cfg.sockets)
	sem := make(chan struct{}, cfg.dialConcurrency)
	var wg sync.WaitGroup
	var errs atomic.Int64
	var firstErr sync.Once
	for i := range cfg.sockets {
		sem <- struct{}{}
		wg.Add(1)
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			s, err := l.dial(cfg.urls[i%len(cfg.urls)], cfg.tokens[i%len(cfg.tokens)])
			if err != nil {
				errs.Add(1)
				firstErr.Do(func() { progress("dial: %v", err) })
				return
			}
			s.server = i % len(cfg.urls)
			l.sockets[i] = s
		}(i)
	}
	wg.Wait()
	n := 0
	for _, s := range l.sockets {
		if s != nil {
			n++
		}
	}
	return n, int(errs.Load())
}

var pong = []byte(`{"type":"pong"}`)

func (l *load) dial(url, token string) (*socket, error) {
	// One deadline for the whole setup, up to and including `subscribe`.
	conn, err := wsDial(url, "graphql-transport-ws", time.Now().Add(60*time.Second))
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*socket, error) {
		conn.c.Close()
		return nil, err
	}
	init, _ := json.Marshal(map[string]any{
		"type": "connection_init", "payload": map[string]string{"authorization": "Bearer " + token},
	})
	if err := conn.writeText(init); err != nil {
		return fail(err)
	}
	for {
		data, err := conn.readMessage()
		if err != nil {
			return fail(err)
		}
		if string(frameType(data)) == "connection_ack" {
			break
		}
		if string(frameType(data)) == "ping" {
			_ = conn.writeText(pong)
		}
	}
	sub, _ := json.Marshal(map[string]any{
		"id": "1", "type": "subscribe",
		"payload": map[string]any{"query": subscription, "variables": map[string]string{"c": l.cfg.channel}},
	})
	if err := conn.writeText(sub); err != nil {
		return fail(err)
	}
	if err := conn.c.SetDeadline(time.Time{}); err != nil {
		return fail(err)
	}
	s := &socket{conn: conn, done: make(chan struct{})}
	l.readersWG.Add(1)
	if err := l.poller.attach(s); err != nil {
		l.readersWG.Done()
		return fail(err)
	}
	return s, nil
}

// frameType returns a slice, not a string: converting would allocate on every frame.
func frameType(data []byte) []byte {
	i := bytes.Index(data, []byte(`"type":"`))
	if i < 0 {
		return nil
	}
	rest := data[i+8:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// onMessage handles one text message of a socket; the poller calls it, `now` being when
// the read that brought it returned and `arrived` when the kernel received it.
func (l *load) onMessage(s *socket, data []byte, now, arrived int64) {
	switch string(frameType(data)) {
	case "next":
		l.onNext(s, data, now, arrived)
	case "ping":
		l.pongs.Add(1)
		_ = s.conn.writeText(pong)
	case "pong":
	default:
		if l.others.Add(1) <= 3 {
			progress("frame: %.300s", data)
		}
	}
}

func (l *load) onNext(s *socket, data []byte, now, arrived int64) {
	if !s.subscribed.Load() {
		s.subscribed.Store(true)
	}
	i := bytes.Index(data, contentKey)
	if i < 0 {
		l.others.Add(1)
		return
	}
	content := data[i+len(contentKey):]
	if end := bytes.IndexByte(content, '"'); end >= 0 {
		content = content[:end]
	}
	seq, sent, ok := parseRT(content)
	if !ok {
		if seq, sent, ok = l.slowContent(content); !ok {
			return
		}
	}
	if seq >= len(l.received) {
		l.others.Add(1)
		return
	}
	l.frames.Add(1)
	if lo := l.measureLo.Load(); lo >= 0 && int64(seq) >= lo {
		s.mu.Lock()
		s.latencies = append(s.latencies, int32((now-sent)/1000))
		s.arrivals = append(s.arrivals, int32((arrived-sent)/1000))
		if l.cfg.traceFile != "" {
			s.seqs = append(s.seqs, int32(seq))
		}
		s.mu.Unlock()
	}
	if l.received[seq].Add(1) == l.expected {
		close(l.done[seq])
	}
}

// parseRT reads "rt <seq> <ns>" in plain decimal, the only form sendSeq writes, without
// the allocations of bytes.Fields and strconv; slowContent takes anything else.
func parseRT(content []byte) (seq int, sent int64, ok bool) {
	if len(content) < 6 || content[0] != 'r' || content[1] != 't' || content[2] != ' ' {
		return 0, 0, false
	}
	n, i := digits(content, 3)
	if i == 3 || i-3 > 9 || i >= len(content) || content[i] != ' ' {
		return 0, 0, false
	}
	seq = int(n)
	n, j := digits(content, i+1)
	if j == i+1 || j-(i+1) > 19 || j != len(content) || n > math.MaxInt64 {
		return 0, 0, false
	}
	return seq, int64(n), true
}

// digits parses the decimal digits at content[i:]; with at most 19 of them n cannot wrap.
func digits(content []byte, i int) (n uint64, end int) {
	for ; i < len(content) && content[i] >= '0' && content[i] <= '9'; i++ {
		n = n*10 + uint64(content[i]-'0')
	}
	return n, i
}

// slowContent judges what parseRT did not take as onNext always did: it counts probes and
// malformed contents, and returns ok for an "rt" message in some other form (signs, spaces).
func (l *load) slowContent(content []byte) (seq int, sent int64, ok bool) {
	fields := bytes.Fields(content)
	if len(fields) == 0 {
		return 0, 0, false
	}
	if string(fields[0]) == "probe" {
		l.probes.Add(1)
		return 0, 0, false
	}
	if len(fields) != 3 || string(fields[0]) != "rt" {
		l.others.Add(1)
		return 0, 0, false
	}
	seq, err1 := strconv.Atoi(string(fields[1]))
	sent, err2 := strconv.ParseInt(string(fields[2]), 10, 64)
	if err1 != nil || err2 != nil || seq < 0 {
		l.others.Add(1)
		return 0, 0, false
	}
	return seq, sent, true
}

func (l *load) countSubscribed() int {
	n := 0
	for _, s := range l.sockets {
		if s != nil && s.subscribed.Load() {
			n++
		}
	}
	return n
}

// barrier sends probes until every socket received one: subscriptions start asynchronously
// after `subscribe`, and graphql-transport-ws has no acknowledgement for them.
func (l *load) barrier() (int, int) {
	sent := 0
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if err := l.send(fmt.Sprintf("probe %d", sent), sent); err != nil {
			progress("probe: %v", err)
		}
		sent++
		wait := time.Now().Add(2 * time.Second)
		for time.Now().Before(wait) {
			if l.countSubscribed() == int(l.expected) {
				// let the last probes arrive before anything is counted
				l.settle()
				return l.countSubscribed(), sent
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return l.countSubscribed(), sent
}

func (l *load) settle() {
	last, stable := l.probes.Load(), 0
	for stable < 10 {
		time.Sleep(50 * time.Millisecond)
		now := l.probes.Load()
		if now == last {
			stable++
		} else {
			stable, last = 0, now
		}
	}
}

// --- sending ----------------------------------------------------------------------------

func (l *load) send(content string, seq int) error {
	body, _ := json.Marshal(map[string]any{
		"query": sendMutation, "variables": map[string]string{"c": l.cfg.channel, "t": content},
	})
	req, _ := http.NewRequest("POST", l.cfg.sendURLs[seq%len(l.cfg.sendURLs)], bytes.NewReader(body))
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", "Bearer "+l.cfg.sendToken)
	resp, err := l.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 || bytes.Contains(data, []byte(`"errors"`)) {
		return fmt.Errorf("status %d: %.300s", resp.StatusCode, data)
	}
	return nil
}

// sendSeq sends message seq with the current time in its content.
func (l *load) sendSeq(seq int) {
	start := time.Now()
	l.sentAt[seq].Store(start.UnixNano())
	err := l.send(fmt.Sprintf("rt %d %d", seq, start.UnixNano()), seq)
	took := int32(time.Since(start).Microseconds())
	l.sendMu.Lock()
	l.sendLat = append(l.sendLat, took)
	l.sendBySeq[seq] = took
	l.sendMu.Unlock()
	if err != nil {
		if l.sendErrs.Add(1) == 1 {
			progress("send: %v", err)
		}
	}
}

func (l *load) nextSeq() (int, bool) {
	seq := int(l.seq.Add(1) - 1)
	if seq >= l.cfg.maxMessages {
		return 0, false
	}
	return seq, true
}

// quietCollector collects now and then turns the collector off until the returned function
// runs: a collection in the measured window took up to 23 ms of concurrent marking, much of
// it assisted by the reading goroutine, and showed up as a stall of every socket at once.
// The memory limit still collects should a run outgrow it.
func quietCollector() (restore func()) {
	runtime.GC()
	percent := debug.SetGCPercent(-1)
	limit := debug.SetMemoryLimit(2 << 30)
	return func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	}
}

func (l *load) runLatency(result map[string]any) {
	cfg := l.cfg
	defer quietCollector()()
	interval := time.Duration(float64(time.Second) / cfg.rate)
	start := time.Now()
	measureAt := start.Add(cfg.warmup)
	stop := measureAt.Add(cfg.seconds)
	var wg sync.WaitGroup
	measuredFrom, measuredTo := -1, -1
	framesAtMeasure := int64(0)
	// Open loop: message k goes at start + k*interval whatever happened to the ones before.
	for k := 0; ; k++ {
		at := start.Add(time.Duration(k) * interval)
		if !at.Before(stop) {
			break
		}
		time.Sleep(time.Until(at))
		if measuredFrom < 0 && !at.Before(measureAt) {
			framesAtMeasure = l.frames.Load()
			emit(map[string]any{"event": "window_start"})
		}
		seq, ok := l.nextSeq()
		if !ok {
			break
		}
		if measuredFrom < 0 && !at.Before(measureAt) {
			measuredFrom = seq
			l.measureLo.Store(int64(seq))
		}
		if measuredFrom >= 0 {
			measuredTo = seq
		}
		wg.Add(1)
		go func() { defer wg.Done(); l.sendSeq(seq) }()
	}
	sendingStopped := time.Now()
	framesAtStop := l.frames.Load()
	emit(map[string]any{"event": "window_end"})
	wg.Wait()
	l.drainUntil(int(l.seq.Load()))
	result["window_seconds"] = sendingStopped.Sub(measureAt).Seconds()
	result["window_frames"] = framesAtStop - framesAtMeasure
	result["frames_per_second"] = float64(framesAtStop-framesAtMeasure) / sendingStopped.Sub(measureAt).Seconds()
	l.report(result, measuredFrom, measuredTo)
}

func (l *load) runThroughput(result map[string]any) {
	cfg := l.cfg
	defer quietCollector()()
	start := time.Now()
	measureAt := start.Add(cfg.warmup)
	stop := measureAt.Add(cfg.seconds)
	var wg sync.WaitGroup
	var stalls atomic.Int64
	for range cfg.window {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				seq, ok := l.nextSeq()
				if !ok {
					return
				}
				l.sendSeq(seq)
				select {
				case <-l.done[seq]:
				case <-time.After(cfg.drain):
					stalls.Add(1)
				}
			}
		}()
	}
	time.Sleep(time.Until(measureAt))
	framesAt := l.frames.Load()
	seqAt := int(l.seq.Load())
	l.measureLo.Store(int64(seqAt))
	emit(map[string]any{"event": "window_start"})
	time.Sleep(time.Until(stop))
	framesEnd := l.frames.Load()
	seqEnd := int(l.seq.Load()) - 1
	emit(map[string]any{"event": "window_end"})
	wg.Wait()
	l.drainUntil(int(l.seq.Load()))
	window := cfg.seconds.Seconds()
	result["window_seconds"] = window
	result["window_frames"] = framesEnd - framesAt
	result["frames_per_second"] = float64(framesEnd-framesAt) / window
	result["stalled_messages"] = stalls.Load()
	l.report(result, seqAt, seqEnd)
}

// drainUntil waits (at most -drain) until messages [0, n) reached every socket.
func (l *load) drainUntil(n int) {
	deadline := time.Now().Add(l.cfg.drain)
	live := l.expected
	for seq := 0; seq < n && seq < l.cfg.maxMessages; seq++ {
		for l.received[seq].Load() < live && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	// a frame that was going to arrive twice would do so now
	time.Sleep(200 * time.Millisecond)
}

func (l *load) report(result map[string]any, from, to int) {
	sent := int(l.seq.Load())
	if sent > l.cfg.maxMessages {
		sent = l.cfg.maxMessages
	}
	live := int(l.expected)
	total, complete, over := int64(0), 0, 0
	for seq := 0; seq < sent; seq++ {
		got := int(l.received[seq].Load())
		total += int64(got)
		if got == live {
			complete++
		} else if got > live {
			over++
		}
	}
	result["messages_sent"] = sent
	result["send_errors"] = l.sendErrs.Load()
	result["expected_frames"] = int64(sent) * int64(live)
	result["received_frames"] = total
	result["complete_messages"] = complete
	result["overdelivered_messages"] = over
	result["probe_frames"] = l.probes.Load()
	result["other_frames"] = l.others.Load()
	result["pongs"] = l.pongs.Load()
	result["measured_messages"] = max(0, to-from+1)
	var lat, arr []int32
	for _, s := range l.sockets {
		if s != nil {
			s.mu.Lock()
			lat = append(lat, s.latencies...)
			arr = append(arr, s.arrivals...)
			s.mu.Unlock()
		}
	}
	result["latency_ms"] = percentiles(lat)
	result["arrival_latency_ms"] = percentiles(arr)
	if l.cfg.traceFile != "" && from >= 0 {
		l.writeTrace(from, to)
	}
	l.sendMu.Lock()
	result["send_ms"] = percentiles(l.sendLat)
	l.sendMu.Unlock()
}

func percentiles(us []int32) map[string]any {
	if len(us) == 0 {
		return map[string]any{"samples": 0}
	}
	sorted := append([]int32(nil), us...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	at := func(q float64) float64 {
		i := int(q * float64(len(sorted)))
		if i >= len(sorted) {
			i = len(sorted) - 1
		}
		return float64(sorted[i]) / 1000
	}
	return map[string]any{
		"samples": len(sorted), "p50": at(0.50), "p90": at(0.90), "p99": at(0.99),
		"max": float64(sorted[len(sorted)-1]) / 1000,
	}
}

func (l *load) resetLatencies() {
	l.measureLo.Store(-1)
	for _, s := range l.sockets {
		if s != nil {
			s.mu.Lock()
			s.latencies = nil
			s.arrivals = nil
			s.mu.Unlock()
		}
	}
	l.sendMu.Lock()
	l.sendLat = nil
	l.sendMu.Unlock()
}

func (l *load) closedEarly(result map[string]any) {
	closes := map[string]int{}
	for _, s := range l.sockets {
		if s == nil {
			continue
		}
		s.mu.Lock()
		if s.closedWith != "" {
			closes[s.closedWith]++ // closed by the server before we were done
		}
		s.mu.Unlock()
	}
	result["closed_early"] = closes
}

func (l *load) closeAll(result map[string]any) {
	l.closedEarly(result)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, s := range l.sockets {
		if s == nil {
			continue
		}
		sem <- struct{}{}
		wg.Add(1)
		go func(s *socket) {
			defer func() { <-sem; wg.Done() }()
			// The closing handshake: the poller closes the connection once the server's
			// close frame came back (the whole close waits 10 s at most).
			_ = s.conn.writeClose(statusNormal)
			<-s.done
		}(s)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
}

// writeTrace writes, for each measured message, when it was sent (ms into the window), how
// long its send took, and per server the median and largest delivery latency: it tells a
// stall (every socket late at once) from steady queueing.
func (l *load) writeTrace(from, to int) {
	servers := len(l.cfg.urls)
	per := make([][][]int32, to-from+1)
	for i := range per {
		per[i] = make([][]int32, servers)
	}
	for _, s := range l.sockets {
		if s == nil {
			continue
		}
		s.mu.Lock()
		for k, seq := range s.seqs {
			if int(seq) >= from && int(seq) <= to {
				per[int(seq)-from][s.server] = append(per[int(seq)-from][s.server], s.latencies[k])
			}
		}
		s.mu.Unlock()
	}
	f, err := os.Create(l.cfg.traceFile)
	if err != nil {
		fatal("trace: %v", err)
	}
	defer f.Close()
	w := bufio.NewWriter(f)
	defer w.Flush()
	base := l.sentAt[from].Load()
	for i, byServer := range per {
		seq := from + i
		fmt.Fprintf(w, "%d %.1f %.2f", seq, float64(l.sentAt[seq].Load()-base)/1e6, float64(l.sendBySeq[seq])/1000)
		for _, lat := range byServer {
			sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
			if len(lat) == 0 {
				fmt.Fprintf(w, " - -")
				continue
			}
			fmt.Fprintf(w, " %.2f %.2f", float64(lat[len(lat)/2])/1000, float64(lat[len(lat)-1])/1000)
		}
		fmt.Fprintln(w)
	}
}
