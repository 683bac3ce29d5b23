package main

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// fakeServer accepts one connection, completes the handshake and hands the raw connection
// to script.
func fakeServer(t *testing.T, script func(c net.Conn, br *bufio.Reader)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + wsGUID))
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"+
			"Connection: Upgrade\r\nSec-WebSocket-Protocol: "+req.Header.Get("Sec-WebSocket-Protocol")+
			"\r\nSec-WebSocket-Accept: "+base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n")
		script(c, br)
	}()
	return "ws://" + ln.Addr().String() + "/graphql"
}

func serverFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	b := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, payload...)
}

// readClientFrame reads one frame from the client, which must be masked and final.
func readClientFrame(br *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	if h[0]&0x80 == 0 || h[1]&0x80 == 0 {
		return 0, nil, errors.New("client frame not final or not masked")
	}
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var e [2]byte
		io.ReadFull(br, e[:])
		n = uint64(binary.BigEndian.Uint16(e[:]))
	case 127:
		var e [8]byte
		io.ReadFull(br, e[:])
		n = binary.BigEndian.Uint64(e[:])
	}
	var mask [4]byte
	io.ReadFull(br, mask[:])
	p := make([]byte, n)
	if _, err := io.ReadFull(br, p); err != nil {
		return 0, nil, err
	}
	for i := range p {
		p[i] ^= mask[i&3]
	}
	return h[0] & 0x0F, p, nil
}

func TestFrames(t *testing.T) {
	mid := bytes.Repeat([]byte("m"), 300)
	big := bytes.Repeat([]byte("b"), 70000)
	echoed := make(chan [][]byte, 1)
	url := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		var got [][]byte
		for range 3 { // the client's text frames, one of each length encoding
			_, p, err := readClientFrame(br)
			if err != nil {
				t.Error(err)
				return
			}
			got = append(got, p)
		}
		c.Write(serverFrame(true, opPing, []byte("hb")))
		op, p, _ := readClientFrame(br)
		if op != opPong || string(p) != "hb" {
			t.Errorf("pong: op %#x payload %q", op, p)
		}
		echoed <- got
		c.Write(serverFrame(true, opText, []byte("small")))
		c.Write(serverFrame(true, opText, mid))
		c.Write(serverFrame(true, opText, big))
		c.Write(serverFrame(false, opText, []byte("frag")))
		c.Write(serverFrame(true, opPong, nil))
		c.Write(serverFrame(false, opContinuation, []byte("men")))
		c.Write(serverFrame(true, opContinuation, []byte("ted")))
		c.Write(serverFrame(true, opClose, binary.BigEndian.AppendUint16(nil, 4403)))
		op, p, _ = readClientFrame(br)
		if op != opClose || binary.BigEndian.Uint16(p) != 4403 {
			t.Errorf("close answer: op %#x payload %v", op, p)
		}
	})
	w, err := wsDial(url, "graphql-transport-ws", time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer w.c.Close()
	for _, p := range [][]byte{[]byte("hi"), mid, big} {
		if err := w.writeText(p); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range [][]byte{[]byte("small"), mid, big, []byte("fragmented")} {
		got, err := w.readMessage()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("got %d bytes %.20q, want %d bytes %.20q", len(got), got, len(want), want)
		}
	}
	if got := <-echoed; !bytes.Equal(got[0], []byte("hi")) || !bytes.Equal(got[1], mid) || !bytes.Equal(got[2], big) {
		t.Fatal("the server did not receive what the client wrote")
	}
	_, err = w.readMessage()
	if ce, ok := err.(closeError); !ok || ce != 4403 {
		t.Fatalf("got %v, want close 4403", err)
	}
}

func TestReadLimit(t *testing.T) {
	url := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		c.Write(serverFrame(true, opText, make([]byte, wsReadLimit+1)))
	})
	w, err := wsDial(url, "graphql-transport-ws", time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer w.c.Close()
	if _, err := w.readMessage(); !errors.As(err, new(payloadError)) {
		t.Fatalf("got %v, want a payloadError", err)
	}
}

func TestParseRT(t *testing.T) {
	for _, c := range []struct {
		in   string
		seq  int
		sent int64
		ok   bool
	}{
		{"rt 0 1733170000123456789", 0, 1733170000123456789, true},
		{"rt 42 7", 42, 7, true},
		{"rt 42", 0, 0, false},
		{"rt  42 7", 0, 0, false},
		{"rt +42 7", 0, 0, false},
		{"rt 42 7 ", 0, 0, false},
		{"rt 42 99999999999999999999", 0, 0, false},
		{"rt 42 9223372036854775808", 0, 0, false},
		{"probe 3", 0, 0, false},
	} {
		seq, sent, ok := parseRT([]byte(c.in))
		if ok != c.ok || ok && (seq != c.seq || sent != c.sent) {
			t.Errorf("parseRT(%q) = %d, %d, %v", c.in, seq, sent, ok)
		}
	}
}

func TestNextFrame(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 300)
	stream := append(serverFrame(true, opText, []byte("hello")), serverFrame(true, opText, long)...)
	op, p, size, err := nextFrame(stream)
	if err != nil || op != opText || string(p) != "hello" || size != 7 {
		t.Fatalf("first frame: %d %q %d %v", op, p, size, err)
	}
	op, p, size, err = nextFrame(stream[size:])
	if err != nil || op != opText || !bytes.Equal(p, long) || size != 4+300 {
		t.Fatalf("second frame: %d %d %v", op, size, err)
	}
	// every cut short of the whole frame asks for more bytes, and says how many in all
	for cut := range 4 + 300 {
		if _, _, size, err := nextFrame(stream[7 : 7+cut]); size != 0 || err != nil {
			t.Fatalf("cut at %d: size %d, %v", cut, size, err)
		}
	}
	if got := wantedBytes(stream[7 : 7+20]); got != 304 {
		t.Fatalf("wantedBytes: %d", got)
	}
	for _, bad := range [][]byte{
		serverFrame(false, opText, []byte("a")),                 // a fragment
		{0x81 | 0x40, 0x01, 'a'},                                // reserved bit
		{0x81, 0x81, 0, 0, 0, 0, 'a'},                           // masked
		append([]byte{0x89, 126, 0, 200}, make([]byte, 200)...), // long control frame
	} {
		if _, _, _, err := nextFrame(bad); err == nil {
			t.Fatalf("accepted % x", bad[:4])
		}
	}
}

func TestPollerReadsWhatTheHandshakeLeftAndWhatFollows(t *testing.T) {
	pongs := make(chan []byte, 1)
	url := fakeServer(t, func(c net.Conn, br *bufio.Reader) {
		// sent with the handshake's last bytes: the blocking reader buffers it
		c.Write(serverFrame(true, opText, []byte(`{"type":"connection_ack"}`)))
		c.Write(serverFrame(true, opText, []byte(`{"type":"pong"}`)))
		time.Sleep(50 * time.Millisecond)
		c.Write(serverFrame(true, opPing, []byte("hb")))
		if _, p, err := readClientFrame(br); err == nil {
			pongs <- p
		}
		big := bytes.Repeat([]byte("b"), 9000)
		frames := append(serverFrame(true, opText, big), serverFrame(true, opText, []byte(`{"type":"complete"}`))...)
		for _, b := range frames { // one byte a write: every cut of a frame
			c.Write([]byte{b})
		}
		c.Write(serverFrame(true, opClose, binary.BigEndian.AppendUint16(nil, 4400)))
		readClientFrame(br)
	})
	conn, err := wsDial(url, "graphql-transport-ws", time.Now().Add(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if data, err := conn.readMessage(); err != nil || string(frameType(data)) != "connection_ack" {
		t.Fatalf("ack: %q %v", data, err)
	}
	time.Sleep(20 * time.Millisecond)
	l := &load{}
	l.poller = newPoller(l, 0)
	s := &socket{conn: conn, done: make(chan struct{})}
	l.readersWG.Add(1)
	if err := l.poller.attach(s); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server's close frame never ended the socket")
	}
	if s.closedWith != "4400" {
		t.Fatalf("closed with %q", s.closedWith)
	}
	if p := <-pongs; string(p) != "hb" {
		t.Fatalf("pong %q", p)
	}
	// the buffered pong frame, the 9,000-byte message and the complete frame
	if got := l.others.Load(); got != 2 {
		t.Fatalf("%d unexpected frames", got)
	}
}

func TestCalibrateReadsEveryFrame(t *testing.T) {
	cost := calibrate(8, 20, 172)
	if cost["frames"] != 160 {
		t.Fatalf("frames: %v", cost["frames"])
	}
	for _, key := range []string{"write_us", "read_us", "wall_us"} {
		if v, ok := cost[key].(float64); !ok || v <= 0 {
			t.Fatalf("%s: %v", key, cost[key])
		}
	}
}

func TestArrivalTimeComesFromTheKernel(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	dialled, err := net.Dial("tcp", listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := listener.Accept()
	if err != nil {
		t.Fatal(err)
	}
	reader := socketFd(dialled)
	defer syscall.Close(reader)
	if err := syscall.SetsockoptInt(reader, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		t.Fatal(err)
	}
	// The kernel turns its receive timestamps on in deferred work: the first segments may
	// come unstamped, later ones may not.
	buf, oob := make([]byte, 64), make([]byte, 64)
	for attempt := 0; ; attempt++ {
		before := time.Now().UnixNano()
		if _, err := accepted.Write([]byte("frame")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // read well after the arrival
		after := time.Now().UnixNano()
		n, oobn, _, _, err := syscall.Recvmsg(reader, buf, oob, 0)
		if err != nil || string(buf[:n]) != "frame" {
			t.Fatalf("recvmsg: %q %v", buf[:n], err)
		}
		arrived := arrivalTime(oob[:oobn])
		if arrived == 0 && attempt < 50 {
			continue
		}
		if arrived < before || arrived > after-10*int64(time.Millisecond) {
			t.Fatalf("arrived %d not between the write (%d) and 10 ms before the read (%d)", arrived, before, after)
		}
		break
	}
	if arrivalTime(nil) != 0 {
		t.Fatal("no control message must give 0")
	}
	_ = accepted.Close()
}
