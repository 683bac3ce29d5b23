// Command sendload is the load client of bench/messages.py: -concurrency workers each send
// sendMessage through GraphQL over HTTP (keep-alive, one connection per worker) in a closed
// loop for -seconds, and print one JSON object on stdout: how many sends were acknowledged,
// how many failed (by GraphQL error code), and the rate. With -rate the workers are paced
// together at that many sends/s instead (open loop: a slow answer does not lower the rate
// while a worker is free); with -acks each acknowledged message id is written to that file
// with the wall-clock time of its answer, in Unix nanoseconds ("<id> <ns>" per line).
//
// A Python client (httpx) spends about 1 ms of CPU per request, so at the rates the server
// reaches it would take a whole core from the two it shares with the server; this client
// spends a few tens of microseconds per request.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const sendMutation = `mutation($c: ID!, $t: String!, $n: String) { sendMessage(input: {channelId: $c, content: $t, nonce: $n}) { message { id } } }`

type response struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string `json:"message"`
		Extensions struct {
			Code string `json:"code"`
		} `json:"extensions"`
	} `json:"errors"`
}

func main() {
	url := flag.String("url", "", "http:// URL of /graphql")
	token := flag.String("token", "", "bearer token of the sender")
	channel := flag.String("channel", "", "channel ID")
	concurrency := flag.Int("concurrency", 32, "workers, each with its own connection")
	seconds := flag.Duration("seconds", 10*time.Second, "how long to send")
	nonces := flag.Bool("nonces", false, "give every send a unique nonce")
	content := flag.String("content", "benchmark message", "the text of every message")
	rate := flag.Float64("rate", 0, "sends/s over all workers (0: closed loop)")
	acksPath := flag.String("acks", "", "file for '<message id> <unix ns>' per acknowledged send")
	flag.Parse()
	if *url == "" || *token == "" || *channel == "" {
		fmt.Fprintln(os.Stderr, "sendload: -url, -token and -channel are required")
		os.Exit(2)
	}
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConnsPerHost: *concurrency,
			MaxConnsPerHost:     *concurrency,
			DisableCompression:  true,
		},
	}
	var sent, failed atomic.Int64
	var mu sync.Mutex
	codes := map[string]int{}
	firstError := ""
	fail := func(code, message string) {
		failed.Add(1)
		mu.Lock()
		codes[code]++
		if firstError == "" {
			firstError = message
		}
		mu.Unlock()
	}
	var acks *os.File
	if *acksPath != "" {
		var err error
		if acks, err = os.Create(*acksPath); err != nil {
			fmt.Fprintln(os.Stderr, "sendload:", err)
			os.Exit(2)
		}
		defer acks.Close()
	}
	start := time.Now()
	deadline := start.Add(*seconds)
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var interval time.Duration
			next := start
			if *rate > 0 {
				interval = time.Duration(float64(*concurrency) / *rate * float64(time.Second))
				next = start.Add(time.Duration(w) * interval / time.Duration(*concurrency))
			}
			for seq := 0; time.Now().Before(deadline); seq++ {
				if interval > 0 {
					time.Sleep(time.Until(next))
					next = next.Add(interval)
					if !time.Now().Before(deadline) {
						break
					}
				}
				variables := map[string]any{"c": *channel, "t": *content}
				if *nonces {
					variables["n"] = fmt.Sprintf("w%d-%d", w, seq)
				}
				body, _ := json.Marshal(map[string]any{"query": sendMutation, "variables": variables})
				req, _ := http.NewRequest(http.MethodPost, *url, bytes.NewReader(body))
				req.Header.Set("content-type", "application/json")
				req.Header.Set("authorization", "Bearer "+*token)
				resp, err := client.Do(req)
				if err != nil {
					fail("TRANSPORT", err.Error())
					continue
				}
				raw, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				var parsed response
				if err != nil || json.Unmarshal(raw, &parsed) != nil {
					fail("TRANSPORT", fmt.Sprintf("status %d: %s", resp.StatusCode, raw))
					continue
				}
				if len(parsed.Errors) > 0 {
					fail(parsed.Errors[0].Extensions.Code, parsed.Errors[0].Message)
					continue
				}
				sent.Add(1)
				if acks != nil {
					var data struct {
						SendMessage struct {
							Message struct {
								ID string `json:"id"`
							} `json:"message"`
						} `json:"sendMessage"`
					}
					if json.Unmarshal(parsed.Data, &data) == nil {
						line := fmt.Sprintf("%s %d\n", data.SendMessage.Message.ID, time.Now().UnixNano())
						mu.Lock()
						acks.WriteString(line)
						mu.Unlock()
					}
				}
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	out, _ := json.Marshal(map[string]any{
		"sent":        sent.Load(),
		"failed":      failed.Load(),
		"codes":       codes,
		"first_error": firstError,
		"seconds":     elapsed,
		"rate":        float64(sent.Load()) / elapsed,
	})
	fmt.Println(string(out))
}
