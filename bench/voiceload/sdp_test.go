package main

import (
	"strings"
	"testing"
)

const answer = "v=0\r\n" +
	"o=- 1 2 IN IP4 0.0.0.0\r\n" +
	"a=group:BUNDLE 0 1 2\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n" +
	"a=mid:0\r\n" +
	"a=sendonly\r\n" +
	"m=video 9 UDP/TLS/RTP/SAVPF 97\r\n" +
	"a=mid:1\r\n" +
	"a=sendonly\r\n" +
	"m=audio 9 UDP/TLS/RTP/SAVPF 96\r\n" +
	"a=mid:2\r\n" +
	"a=recvonly\r\n"

func TestInactiveRewritesOnlyTheNamedSection(t *testing.T) {
	got := inactive(answer, "1")
	want := strings.Replace(answer, "a=mid:1\r\na=sendonly", "a=mid:1\r\na=inactive", 1)
	if got != want {
		t.Fatalf("inactive(answer, 1) =\n%s\nwant\n%s", got, want)
	}
	if got := inactive(answer, "2"); !strings.HasSuffix(got, "a=mid:2\r\na=inactive\r\n") {
		t.Errorf("the last section was not rewritten:\n%s", got)
	}
}

func TestInactiveLeavesOtherSDPAlone(t *testing.T) {
	if got := inactive(answer, "9"); got != answer {
		t.Errorf("an unknown MID changed the SDP:\n%s", got)
	}
	// "a=mid:1" must not match "a=mid:10"
	ten := strings.Replace(answer, "a=mid:1\r\n", "a=mid:10\r\n", 1)
	if got := inactive(ten, "1"); got != ten {
		t.Errorf("MID 1 matched MID 10:\n%s", got)
	}
	lf := strings.ReplaceAll(answer, "\r\n", "\n")
	if got := inactive(lf, "0"); !strings.Contains(got, "a=mid:0\na=inactive\nm=video") {
		t.Errorf("LF-only SDP not rewritten:\n%s", got)
	}
}
