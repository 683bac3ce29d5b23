package main

import (
	"reflect"
	"testing"
	"time"
)

func TestRTPTimestamp(t *testing.T) {
	packet := []byte{0x80, 111, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1, 0xfc}
	got, err := rtpTimestamp(packet)
	if err != nil || got != 0xdeadbeef {
		t.Fatalf("rtpTimestamp = %#x, %v; want 0xdeadbeef", got, err)
	}
	if _, err := rtpTimestamp(packet[:11]); err == nil {
		t.Fatal("a packet shorter than the fixed header was accepted")
	}
}

func TestFrameIndexCountsFromTheFirstPacketAcrossWrap(t *testing.T) {
	first := uint32(0xffffffff - 959) // the SFU's random origin, one frame before the wrap
	for k, ts := range []uint32{first, first + 960, first + 2*960, first + 3*960} {
		if got := frameIndex(first, ts); got != k {
			t.Errorf("frameIndex(%d, %d) = %d, want %d", first, ts, got, k)
		}
	}
}

// frames builds arrivals: packet k of a receiver's stream (origin 5000) at base + ms[k].
func frames(base time.Time, origin uint32, order []int, ms []float64) []arrival {
	out := make([]arrival, len(order))
	for i, k := range order {
		out[i] = arrival{
			at:        base.Add(time.Duration(ms[i] * float64(time.Millisecond))),
			timestamp: origin + uint32(k*frameTicks),
		}
	}
	return out
}

func TestSummarizeMapsEachPacketToItsSendTime(t *testing.T) {
	base := time.Now()
	sent := []time.Time{base, base.Add(20 * time.Millisecond), base.Add(40 * time.Millisecond)}
	// packets 0, 2, 1 (reordered), then a duplicate of 2 that must count once
	got := frames(base, 5000, []int{0, 2, 1, 2}, []float64{3.25, 45.5, 46, 60})
	received, latencies := summarize(got, sent)
	if received != 3 {
		t.Errorf("received = %d, want 3", received)
	}
	want := []float64{3.25, 5.5, 26}
	if !reflect.DeepEqual(latencies, want) {
		t.Errorf("latencies = %v, want %v", latencies, want)
	}
}

func TestSummarizeCountsLossAndSkipsUnknownSendTimes(t *testing.T) {
	base := time.Now()
	// 4 sent, packet 2 lost; a packet past what was sent counts as received but has no latency
	sent := []time.Time{base, base.Add(20 * time.Millisecond), base.Add(40 * time.Millisecond),
		base.Add(60 * time.Millisecond)}
	got := frames(base, 7, []int{0, 1, 3, 4}, []float64{1, 21, 61, 81})
	received, latencies := summarize(got, sent)
	if received != 4 || len(latencies) != 3 {
		t.Errorf("received = %d with %d latencies, want 4 with 3", received, len(latencies))
	}
	// a source sent from another load process: counts, no latencies
	received, latencies = summarize(got, nil)
	if received != 4 || latencies != nil {
		t.Errorf("without send times: received = %d, latencies = %v", received, latencies)
	}
	if received, latencies = summarize(nil, sent); received != 0 || latencies != nil {
		t.Errorf("nothing heard: received = %d, latencies = %v", received, latencies)
	}
}

func TestRoundMillis(t *testing.T) {
	if got := roundMillis(1234567 * time.Nanosecond); got != 1.235 {
		t.Errorf("roundMillis = %v, want 1.235", got)
	}
}

func TestSendTimeSpreadsSendersOverThePeriod(t *testing.T) {
	begin := time.Unix(100, 0)
	if got := sendTime(begin, 0, 0); !got.Equal(begin) {
		t.Errorf("first packet of phase 0 at %v, want %v", got, begin)
	}
	if got := sendTime(begin, 0.5, 3).Sub(begin); got != 70*time.Millisecond {
		t.Errorf("packet 3 of phase 0.5 at +%v, want +70ms", got)
	}
}

func TestArrivalsSnapshotIsACopy(t *testing.T) {
	var a arrivals
	now := time.Now()
	a.add(now, 1)
	snap := a.snapshot()
	a.add(now, 2)
	if len(snap) != 1 || len(a.snapshot()) != 2 {
		t.Errorf("snapshot has %d, log has %d; want 1 and 2", len(snap), len(a.snapshot()))
	}
}

func TestPercentile(t *testing.T) {
	values := make([]float64, 100)
	for i := range values {
		values[i] = float64(100 - i) // 100 .. 1, unsorted
	}
	if got := percentile(values, 0.99); got != 100 {
		t.Errorf("p99 = %v, want 100", got)
	}
	if got := percentile(values, 0.5); got != 51 {
		t.Errorf("p50 = %v, want 51", got)
	}
	if got := percentile(nil, 0.99); got != 0 {
		t.Errorf("p99 of nothing = %v, want 0", got)
	}
	if values[0] != 100 {
		t.Error("percentile sorted its argument")
	}
}
